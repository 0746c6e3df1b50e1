//! The pilot estimators against statsmodels and an exact permutation test in Python
//! (`tools/pilots/make_fixtures.py`): estimate, clustered standard error and interval relative
//! 1e-9, the permutation p-value and its number of assignments exactly.

use aftersales_domain::pilot::{Observation, Panel};
use serde_json::Value;

const REL: f64 = 1e-9;

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= REL * b.abs().max(1e-12),
        "{what}: {a} against {b}"
    );
}

fn panel(v: &Value) -> Panel {
    Panel {
        observations: v["observations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| Observation {
                unit: o["unit"].as_u64().unwrap() as usize,
                period: o["period"].as_i64().unwrap(),
                value: o["value"].as_f64().unwrap(),
            })
            .collect(),
        pilot: v["pilot"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_bool().unwrap())
            .collect(),
        start: v["start"].as_i64().unwrap(),
    }
}

#[test]
fn difference_in_differences_matches_statsmodels() {
    for (name, text) in [
        (
            "did_small",
            include_str!("../fixtures/pilots/did_small.json"),
        ),
        (
            "did_noisy",
            include_str!("../fixtures/pilots/did_noisy.json"),
        ),
    ] {
        let v: Value = serde_json::from_str(text).unwrap();
        let p = panel(&v);
        assert!(p.thin().is_none(), "{name}");
        let e = p.estimate().unwrap();
        close(e.effect, v["effect"].as_f64().unwrap(), name);
        close(e.std_error, v["std_error"].as_f64().unwrap(), name);
        close(e.lower, v["lower"].as_f64().unwrap(), name);
        close(e.upper, v["upper"].as_f64().unwrap(), name);
        let t = p.placebo(7).unwrap();
        assert!(t.exact, "{name}");
        assert_eq!(
            t.assignments as u64,
            v["placebo_assignments"].as_u64().unwrap(),
            "{name}"
        );
        close(t.p_value, v["placebo_p"].as_f64().unwrap(), name);
    }
}

/// The synthetic control's weights against pysyncon's (SLSQP stops near 1e-6, so the weights
/// agree to 1e-3 and ours reach an objective at least as low).
#[test]
fn synthetic_control_matches_pysyncon() {
    use aftersales_domain::pilot::synthetic;
    let v: Value = serde_json::from_str(include_str!("../fixtures/pilots/synthetic.json")).unwrap();
    let series = |a: &Value| -> Vec<Option<f64>> {
        a.as_array()
            .unwrap()
            .iter()
            .map(|x| Some(x.as_f64().unwrap()))
            .collect()
    };
    let treated = series(&v["treated"]);
    let donors: Vec<Vec<Option<f64>>> =
        v["donors"].as_array().unwrap().iter().map(series).collect();
    let start = v["start"].as_u64().unwrap() as usize;
    let s = synthetic::fit(&treated, &donors, start).unwrap();
    let reference: Vec<f64> = v["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .collect();
    for (ours, theirs) in s.weights.iter().zip(&reference) {
        assert!(
            (ours - theirs).abs() < 1e-3,
            "{:?} against {reference:?}",
            s.weights
        );
    }
    // The objective: months standardised by their sample standard deviation over all points.
    let loss: f64 = (0..start)
        .map(|t| {
            let mut all: Vec<f64> = donors.iter().map(|d| d[t].unwrap()).collect();
            all.push(treated[t].unwrap());
            let n = all.len() as f64;
            let mean = all.iter().sum::<f64>() / n;
            let sd = (all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let fit: f64 = donors
                .iter()
                .zip(&s.weights)
                .map(|(d, w)| w * d[t].unwrap())
                .sum();
            ((treated[t].unwrap() - fit) / sd).powi(2)
        })
        .sum();
    let theirs = v["loss"].as_f64().unwrap();
    assert!(loss <= theirs * (1.0 + 1e-6), "{loss} against {theirs}");
    // The effect put in by the fixture's maker is 4 from month 12.
    assert!((s.effect - 4.0).abs() < 1.5, "{}", s.effect);
    let p = synthetic::placebo(&treated, &donors, start).unwrap();
    assert_eq!(p.points, 9);
    assert!(p.p_value <= 2.0 / 9.0 + 1e-12, "{}", p.p_value);
}
