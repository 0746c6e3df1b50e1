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
