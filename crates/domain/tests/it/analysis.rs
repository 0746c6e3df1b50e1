//! Reference comparisons of the analysis statistics (see the crate test's header for the tolerances).

use aftersales_domain::analysis::control::{laney_u_prime, ControlOptions, RatePoint};
use aftersales_domain::analysis::funnel::{
    mean_funnel, rate_funnel, Funnel, FunnelOptions, MeanUnit, Overdispersion, RateUnit,
};
use aftersales_domain::analysis::weibull::{fit, plotting_positions, Observation, WeibullFit};
use serde_json::Value;

const LIBRARY_PARAM_REL: f64 = 5e-4;
const LIBRARY_LL_REL: f64 = 1e-6;
const LIBRARY_BOUND_REL: f64 = 1e-3;
const METHOD_REL: f64 = 1e-9;
const LIFELINES_PARAM_REL: f64 = 1e-5;
const LIFELINES_LL_REL: f64 = 1e-8;
const POSITION_REL: f64 = 1e-12;
const CHART_REL: f64 = 1e-9;
const CHART_ABS: f64 = 1e-12;

const WEIBULL: [(&str, &str); 5] = [
    (
        "small_unstable",
        include_str!("../fixtures/analysis/weibull_small_unstable.json"),
    ),
    (
        "moderate_months",
        include_str!("../fixtures/analysis/weibull_moderate_months.json"),
    ),
    (
        "large_simulated",
        include_str!("../fixtures/analysis/weibull_large_simulated.json"),
    ),
    ("km", include_str!("../fixtures/analysis/weibull_km.json")),
    (
        "complete_90",
        include_str!("../fixtures/analysis/weibull_complete_90.json"),
    ),
];

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

fn nums(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not an array"))
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(what: &str, ours: f64, reference: f64, rel: f64, abs: f64) {
    let diff = (ours - reference).abs();
    assert!(
        diff <= rel * reference.abs().max(ours.abs()) + abs,
        "{what}: ours {ours}, reference {reference}, difference {diff:e} over rel {rel:e} / abs {abs:e}"
    );
}

fn observations(set: &Value) -> Vec<Observation> {
    let mut obs: Vec<Observation> = nums(set, "failures")
        .into_iter()
        .map(Observation::failure)
        .collect();
    obs.extend(
        nums(set, "suspensions")
            .into_iter()
            .map(Observation::suspension),
    );
    obs
}

fn check_fit(
    name: &str,
    ours: &WeibullFit,
    reference: &Value,
    param_rel: f64,
    ll_rel: f64,
    bound_rel: f64,
) {
    close(
        &format!("{name} beta"),
        ours.beta,
        num(reference, "beta"),
        param_rel,
        0.0,
    );
    close(
        &format!("{name} eta"),
        ours.eta,
        num(reference, "eta"),
        param_rel,
        0.0,
    );
    close(
        &format!("{name} log-likelihood"),
        ours.log_likelihood,
        num(reference, "log_likelihood"),
        ll_rel,
        0.0,
    );
    for (label, value) in [
        ("beta_lower", ours.beta_ci.lower),
        ("beta_upper", ours.beta_ci.upper),
        ("eta_lower", ours.eta_ci.lower),
        ("eta_upper", ours.eta_ci.upper),
    ] {
        close(
            &format!("{name} {label}"),
            value,
            num(reference, label),
            bound_rel,
            0.0,
        );
    }
    for point in reference["unreliability"].as_array().unwrap() {
        let t = num(point, "t");
        let e = ours.unreliability_bounds(t).unwrap();
        for (label, value) in [("value", e.value), ("lower", e.lower), ("upper", e.upper)] {
            close(
                &format!("{name} F({t}) {label}"),
                value,
                num(point, label),
                bound_rel,
                0.0,
            );
        }
    }
}

#[test]
fn analysis_weibull_matches_reliability_and_lifelines() {
    for (name, text) in WEIBULL {
        let set = parse(text);
        let obs = observations(&set);
        let ours = fit(&obs, num(&set, "confidence")).unwrap();
        assert_eq!(ours.failures, nums(&set, "failures").len(), "{name}");
        assert_eq!(ours.suspensions, nums(&set, "suspensions").len(), "{name}");

        let library = &set["reliability_fit"];
        check_fit(
            &format!("{name} (reliability fit)"),
            &ours,
            library,
            LIBRARY_PARAM_REL,
            LIBRARY_LL_REL,
            LIBRARY_BOUND_REL,
        );

        let method = &set["reliability_method_at_exact_mle"];
        check_fit(
            &format!("{name} (reliability method at the exact MLE)"),
            &ours,
            method,
            METHOD_REL,
            METHOD_REL,
            METHOD_REL,
        );
        let c = &ours.covariance;
        close(
            &format!("{name} var eta"),
            c.var_eta,
            num(method, "var_eta"),
            METHOD_REL,
            0.0,
        );
        close(
            &format!("{name} var beta"),
            c.var_beta,
            num(method, "var_beta"),
            METHOD_REL,
            0.0,
        );
        close(
            &format!("{name} cov"),
            c.cov_eta_beta,
            num(method, "cov_eta_beta"),
            METHOD_REL,
            0.0,
        );

        let lifelines = &set["lifelines"];
        close(
            &format!("{name} beta (lifelines)"),
            ours.beta,
            num(lifelines, "beta"),
            LIFELINES_PARAM_REL,
            0.0,
        );
        close(
            &format!("{name} eta (lifelines)"),
            ours.eta,
            num(lifelines, "eta"),
            LIFELINES_PARAM_REL,
            0.0,
        );
        close(
            &format!("{name} log-likelihood (lifelines)"),
            ours.log_likelihood,
            num(lifelines, "log_likelihood"),
            LIFELINES_LL_REL,
            0.0,
        );

        if let Some(positions) = set["plotting_positions"].as_array() {
            let ours = plotting_positions(&obs).unwrap();
            assert_eq!(ours.len(), positions.len(), "{name} plotting positions");
            for (o, r) in ours.iter().zip(positions) {
                close(
                    &format!("{name} plot time"),
                    o.time,
                    num(r, "time"),
                    POSITION_REL,
                    0.0,
                );
                close(
                    &format!("{name} plot F at {}", o.time),
                    o.unreliability,
                    num(r, "unreliability"),
                    POSITION_REL,
                    0.0,
                );
            }
        }
    }
}

#[test]
fn analysis_weibull_stability_verdicts() {
    let verdict = |text: &str| {
        let set = parse(text);
        fit(&observations(&set), num(&set, "confidence")).unwrap()
    };
    let small = verdict(WEIBULL[0].1);
    assert!(small.unstable, "3 failures must be flagged: {small:?}");
    assert_eq!(
        small.warnings.len(),
        2,
        "few failures and a wide shape interval"
    );
    for (name, text) in &WEIBULL[1..] {
        let f = verdict(text);
        assert!(!f.unstable, "{name}: {:?}", f.warnings);
    }
}

fn check_chart(name: &str, set: &Value) {
    let counts = nums(set, "counts");
    let exposure = nums(set, "exposure");
    let points: Vec<RatePoint> = counts
        .iter()
        .zip(&exposure)
        .map(|(c, e)| RatePoint {
            count: *c as u64,
            exposure: *e,
        })
        .collect();
    for reference in set["charts"].as_array().unwrap() {
        let baseline = reference["options"]["baseline"]
            .as_u64()
            .map(|b| b as usize);
        let options = ControlOptions {
            baseline,
            ..ControlOptions::default()
        };
        let chart = laney_u_prime(&points, &options).unwrap();
        let label = format!("{name} baseline {baseline:?}");
        assert_eq!(
            chart.baseline as u64,
            reference["baseline"].as_u64().unwrap(),
            "{label}"
        );
        for key in ["centre", "mean_moving_range", "sigma_z"] {
            let ours = match key {
                "centre" => chart.centre,
                "mean_moving_range" => chart.mean_moving_range,
                _ => chart.sigma_z,
            };
            close(
                &format!("{label} {key}"),
                ours,
                num(reference, key),
                CHART_REL,
                CHART_ABS,
            );
        }
        let expected = reference["points"].as_array().unwrap();
        assert_eq!(chart.points.len(), expected.len());
        for (i, (p, r)) in chart.points.iter().zip(expected).enumerate() {
            for (key, ours) in [
                ("rate", p.rate),
                ("lower", p.lower),
                ("upper", p.upper),
                ("z", p.z),
                ("standardised", p.standardised),
                ("ewma", p.ewma),
                ("ewma_upper", p.ewma_upper),
                ("cusum", p.cusum),
            ] {
                close(
                    &format!("{label} point {i} {key}"),
                    ours,
                    num(r, key),
                    CHART_REL,
                    CHART_ABS,
                );
            }
            for (key, ours) in [
                ("above_upper", p.above_upper),
                ("run_above", p.run_above),
                ("ewma_signal", p.ewma_signal),
                ("cusum_signal", p.cusum_signal),
            ] {
                assert_eq!(Some(ours), r[key].as_bool(), "{label} point {i} {key}");
            }
        }
    }
}

#[test]
fn analysis_laney_matches_numpy() {
    let rising = parse(include_str!("../fixtures/analysis/laney_rising.json"));
    check_chart("rising", &rising);
    let huge = parse(include_str!("../fixtures/analysis/laney_huge_stable.json"));
    check_chart("huge stable", &huge);

    // The story the fixtures tell: the rise is caught in the last months only (baseline of
    // 24 months); the huge stable fleet raises nothing.
    let points = |set: &Value| -> Vec<RatePoint> {
        nums(set, "counts")
            .iter()
            .zip(nums(set, "exposure"))
            .map(|(c, e)| RatePoint {
                count: *c as u64,
                exposure: e,
            })
            .collect()
    };
    let options = ControlOptions {
        baseline: Some(24),
        ..ControlOptions::default()
    };
    let chart = laney_u_prime(&points(&rising), &options).unwrap();
    let signalled = chart.signalled();
    assert!(
        !signalled.is_empty() && signalled.iter().all(|i| *i >= 30),
        "{signalled:?}"
    );
    let calm = laney_u_prime(&points(&huge), &ControlOptions::default()).unwrap();
    assert!(calm.signalled().is_empty());
}

fn check_funnel(label: &str, ours: &Funnel, reference: &Value) {
    close(
        &format!("{label} target"),
        ours.target,
        num(reference, "target"),
        CHART_REL,
        CHART_ABS,
    );
    close(
        &format!("{label} phi"),
        ours.phi,
        num(reference, "phi"),
        CHART_REL,
        CHART_ABS,
    );
    close(
        &format!("{label} tau2"),
        ours.tau2,
        num(reference, "tau2"),
        CHART_REL,
        CHART_ABS,
    );
    assert_eq!(
        Some(ours.overdispersed),
        reference["overdispersed"].as_bool(),
        "{label}"
    );
    let expected = reference["points"].as_array().unwrap();
    assert_eq!(ours.points.len(), expected.len());
    for (i, (p, r)) in ours.points.iter().zip(expected).enumerate() {
        for (key, value) in [
            ("value", p.value),
            ("size", p.size),
            ("standard_error", p.standard_error),
            ("z", p.z),
            ("lower_95", p.limits_95.lower),
            ("upper_95", p.limits_95.upper),
            ("lower_998", p.limits_998.lower),
            ("upper_998", p.limits_998.upper),
        ] {
            close(
                &format!("{label} unit {i} {key}"),
                value,
                num(r, key),
                CHART_REL,
                CHART_ABS,
            );
        }
        assert_eq!(
            serde_json::to_value(p.position_95).unwrap(),
            r["position_95"],
            "{label} unit {i}"
        );
        assert_eq!(
            serde_json::to_value(p.position_998).unwrap(),
            r["position_998"],
            "{label} unit {i}"
        );
    }
}

#[test]
fn analysis_funnels_match_numpy() {
    let rates = parse(include_str!("../fixtures/analysis/funnel_rates.json"));
    let units: Vec<RateUnit> = nums(&rates, "counts")
        .iter()
        .zip(nums(&rates, "exposure"))
        .map(|(c, e)| RateUnit {
            count: *c as u64,
            exposure: e,
        })
        .collect();
    let additive = rate_funnel(&units, &FunnelOptions::default()).unwrap();
    check_funnel("rates additive", &additive, &rates["additive"]);
    assert_eq!(additive.outside_outer(), vec![17]);
    let none = FunnelOptions {
        overdispersion: Overdispersion::None,
        ..FunnelOptions::default()
    };
    check_funnel(
        "rates none",
        &rate_funnel(&units, &none).unwrap(),
        &rates["none"],
    );

    let means = parse(include_str!("../fixtures/analysis/funnel_means.json"));
    let units: Vec<MeanUnit> = nums(&means, "means")
        .iter()
        .zip(nums(&means, "n"))
        .map(|(m, n)| MeanUnit {
            mean: *m,
            n: n as u64,
        })
        .collect();
    let funnel = mean_funnel(&units, num(&means, "sd"), &FunnelOptions::default()).unwrap();
    check_funnel("means additive", &funnel, &means["additive"]);
    assert_eq!(funnel.outside_outer(), vec![4]);
}
