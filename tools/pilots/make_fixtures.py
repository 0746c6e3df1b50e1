"""Reference values for the pilot estimators (issue 20): difference-in-differences by OLS with
standard errors clustered by service point (statsmodels, cov_type="cluster", its default
small-sample correction, use_t=True: the 95 % interval from Student's t with G - 1 degrees of
freedom), the exact permutation test over every
assignment of the pilot label (itertools), and the synthetic control of a single pilot point
(pysyncon's Synth with the months before the start as predictors and custom_V of ones). Writes
crates/domain/tests/fixtures/pilots/*.json, which crates/domain/tests/it/pilots.rs checks
aftersales_domain::pilot against.

Run from the repository root: python3 tools/pilots/make_fixtures.py
"""

import itertools
import json
import pathlib

import numpy as np
import pandas as pd
import pysyncon
import statsmodels
import statsmodels.api as sm

OUT = pathlib.Path("crates/domain/tests/fixtures/pilots")


def did(rows, pilot, start):
    y = np.array([r[2] for r in rows])
    p = np.array([1.0 if pilot[r[0]] else 0.0 for r in rows])
    a = np.array([1.0 if r[1] >= start else 0.0 for r in rows])
    x = np.column_stack([np.ones(len(rows)), p, a, p * a])
    groups = np.array([r[0] for r in rows])
    fit = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    ci = fit.conf_int(alpha=0.05)
    return fit.params[3], fit.bse[3], ci[3][0], ci[3][1]


def placebo(rows, pilot, start):
    n = len(pilot)
    k = sum(pilot)
    actual = did(rows, pilot, start)[0]
    hits = 0
    tried = 0
    for chosen in itertools.combinations(range(n), k):
        labels = [i in chosen for i in range(n)]
        e = did(rows, labels, start)[0]
        tried += 1
        if abs(e) >= abs(actual) - 1e-12 * max(abs(actual), 1.0):
            hits += 1
    return hits / tried, tried


def small():
    base = [80.0, 76.0, 78.0, 74.0, 79.0]
    rows = []
    for unit, b in enumerate(base):
        for period in range(8):
            wiggle = ((unit * 7 + period * 3) % 5) - 2.0
            lift = 6.0 if unit < 2 and period >= 4 else 0.0
            rows.append((unit, period, b + 0.5 * period + wiggle + lift))
    return rows, [True, True, False, False, False], 4


def noisy():
    rng = np.random.default_rng(20261207)
    units, periods, start = 12, 24, 15
    pilot = [u in (1, 4, 7, 10) for u in range(units)]
    level = rng.normal(75.0, 4.0, units)
    rows = []
    for u in range(units):
        for t in range(periods):
            if rng.random() < 0.08:  # a month without answers
                continue
            lift = 3.5 if pilot[u] and t >= start else 0.0
            v = level[u] + 0.1 * t + rng.normal(0.0, 2.5) + lift
            rows.append((u, t, round(float(v), 6)))
    return rows, pilot, start


def write(name, rows, pilot, start, with_placebo):
    effect, se, lower, upper = did(rows, pilot, start)
    out = {
        "packages": {"statsmodels": statsmodels.__version__, "numpy": np.__version__},
        "observations": [{"unit": u, "period": t, "value": v} for (u, t, v) in rows],
        "pilot": pilot,
        "start": start,
        "effect": effect,
        "std_error": se,
        "lower": lower,
        "upper": upper,
    }
    if with_placebo:
        p, tried = placebo(rows, pilot, start)
        out["placebo_p"] = p
        out["placebo_assignments"] = tried
    (OUT / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")


def synthetic():
    """One pilot point and eight control points over 18 months, the programme from month 12."""
    rng = np.random.default_rng(20261207)
    periods, start, donors = 18, 12, 8
    level = rng.normal(78.0, 5.0, donors)
    slope = rng.normal(0.1, 0.15, donors)
    series = [
        [round(float(level[j] + slope[j] * t + rng.normal(0.0, 1.5)), 6) for t in range(periods)]
        for j in range(donors)
    ]
    mix = np.array([0.5, 0.0, 0.3, 0.0, 0.2, 0.0, 0.0, 0.0])
    treated = []
    for t in range(periods):
        v = float(mix @ np.array([series[j][t] for j in range(donors)]))
        v += rng.normal(0.0, 0.8) + (4.0 if t >= start else 0.0)
        treated.append(round(v, 6))
    names = [f"c{j}" for j in range(donors)]
    pre = list(range(start))
    x0 = pd.DataFrame({names[j]: [series[j][t] for t in pre] for j in range(donors)}, index=pre)
    x1 = pd.Series([treated[t] for t in pre], index=pre, name="pilot")
    z0 = x0.copy()
    z1 = x1.copy()
    synth = pysyncon.Synth()
    synth.fit(X0=x0, X1=x1, Z0=z0, Z1=z1, custom_V=np.ones(len(pre)))
    weights = [float(w) for w in synth.W]
    # The objective pysyncon minimised, months standardised by their standard deviation.
    x = pd.concat([x0, x1], axis=1)
    sd = x.std(axis=1)
    resid = (x1 - x0.to_numpy() @ np.array(weights)) / sd
    loss = float((resid**2).sum())
    out = {
        "packages": {"pysyncon": getattr(pysyncon, "__version__", "unknown"), "numpy": np.__version__},
        "treated": treated,
        "donors": series,
        "start": start,
        "weights": weights,
        "loss": loss,
    }
    (OUT / "synthetic.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    write("did_small", *small(), with_placebo=True)
    write("did_noisy", *noisy(), with_placebo=True)
    synthetic()
