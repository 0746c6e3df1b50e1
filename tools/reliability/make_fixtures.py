#!/usr/bin/env python3
"""Reference fixtures for crates/domain/src/analysis (issue 18).

Writes JSON files into crates/domain/tests/fixtures/analysis/, read by
crates/domain/tests/it/analysis.rs. Run from anywhere with the pinned packages of
requirements.txt (see README.md beside this file). Every data set is drawn from numpy's PCG64
with a fixed seed, so a rerun with the same versions writes the same files.

References:
- Weibull 2P with right censoring: the `reliability` package's Fit_Weibull_2P (MLE, Fisher
  matrix bounds on log-transformed parameters) and Weibull_Distribution.CDF with bounds on
  reliability (delta method on u = beta*(ln t - ln alpha)); lifelines' WeibullFitter as a second
  library for the estimate and the log-likelihood; the root of the profile score equation solved
  with scipy's brentq to 1e-15 as the exact MLE; the library's own log-likelihood, autograd
  Hessian and bound formulas evaluated at that exact MLE, which separates the library's
  optimizer tolerance from the method. Plotting positions: reliability's plotting_positions
  (Johnson adjusted ranks, Benard a = 0.3).
- Laney u' chart: computed here with numpy from the published formulas, D. B. Laney, "Improved
  control charts for attributes", Quality Engineering 14(4):531-537 (2002): z_i = (u_i - ubar) /
  sqrt(ubar/a_i), sigma_z = mean moving range of z / 1.128, limits ubar +- 3 sqrt(ubar/a_i)
  sigma_z. EWMA (Roberts 1959, exact time-varying limits) and upper CUSUM (Page 1954) on
  w_i = z_i / sigma_z, as documented in control.rs.
- Funnel plots: numpy from D. J. Spiegelhalter, "Funnel plots for comparing institutional
  performance", Statistics in Medicine 24:1185-1202 (2005), additive random effects with
  DerSimonian-Laird tau^2 on winsorised (10 %) z-scores, as documented in funnel.rs.
"""

import json
import math
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import autograd.numpy as anp
import numpy as np
from autograd import hessian
from lifelines import WeibullFitter
from reliability.Distributions import Weibull_Distribution
from reliability.Fitters import Fit_Weibull_2P
from reliability.Probability_plotting import plotting_positions
from scipy.optimize import brentq
from scipy.stats import norm

warnings.filterwarnings("ignore")

OUT = Path(__file__).resolve().parents[2] / "crates/domain/tests/fixtures/analysis"
VERSIONS = {
    p: version(p) for p in ["reliability", "lifelines", "numpy", "scipy", "autograd", "pandas"]
}
VERSIONS["python"] = sys.version.split()[0]


def clean(x):
    """Plain floats for JSON (numpy scalars and arrays become Python numbers and lists)."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [clean(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return float(x)
    return x


def write(name, payload):
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"generated_by": "tools/reliability/make_fixtures.py", "versions": VERSIONS, **payload}
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(clean(payload), indent=1) + "\n")
    print(f"wrote {path.relative_to(OUT.parents[4])}")


# ---------------------------------------------------------------- Weibull


def exact_mle(failures, suspensions):
    """Root of the profile score for beta (brentq, xtol 1e-15), eta in closed form."""
    t = np.concatenate([failures, suspensions])
    x = np.log(t)
    xm = x.max()
    xf = np.log(failures).mean()
    r = len(failures)

    def g(b):
        w = np.exp(b * (x - xm))
        return (w * x).sum() / w.sum() - 1.0 / b - xf

    beta = brentq(g, 1e-3, 1e3, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    eta = math.exp(xm + math.log(np.exp(beta * (x - xm)).sum() / r) / beta)
    return eta, beta


def library_method_at(eta, beta, failures, suspensions, ci, times):
    """reliability's own LL, autograd Hessian and bound formulas at given (eta, beta)."""
    params = np.array([eta, beta])
    f = np.array(failures, dtype=float)
    rc = np.array(suspensions, dtype=float)
    h = hessian(Fit_Weibull_2P.LL)(params, f, rc)
    cov = np.linalg.inv(h)
    z = -norm.ppf((1 - ci) / 2)
    se_a = abs(cov[0][0]) ** 0.5
    se_b = abs(cov[1][1]) ** 0.5
    dist = Weibull_Distribution(
        alpha=eta, beta=beta, alpha_SE=se_a, beta_SE=se_b, Cov_alpha_beta=cov[0][1], CI=ci,
        CI_type="reliability",
    )
    return {
        "eta": eta,
        "beta": beta,
        "log_likelihood": -Fit_Weibull_2P.LL(params, f, rc),
        "var_eta": cov[0][0],
        "var_beta": cov[1][1],
        "cov_eta_beta": cov[0][1],
        "eta_lower": eta * math.exp(-z * se_a / eta),
        "eta_upper": eta * math.exp(z * se_a / eta),
        "beta_lower": beta * math.exp(-z * se_b / beta),
        "beta_upper": beta * math.exp(z * se_b / beta),
        "unreliability": cdf_bounds(dist, ci, times),
    }


def cdf_bounds(dist, ci, times):
    lower, point, upper = dist.CDF(CI_type="reliability", CI=ci, CI_x=np.array(times, dtype=float), show_plot=False)
    return [
        {"t": t, "value": p, "lower": min(lo, up), "upper": max(lo, up)}
        for t, lo, p, up in zip(times, np.atleast_1d(lower), np.atleast_1d(point), np.atleast_1d(upper))
    ]


def weibull_fixture(name, description, unit, failures, suspensions, times, ci=0.95):
    failures = [float(x) for x in failures]
    suspensions = [float(x) for x in suspensions]
    fit = Fit_Weibull_2P(
        failures=failures,
        right_censored=suspensions if suspensions else None,
        CI=ci,
        show_probability_plot=False,
        print_results=False,
    )
    library = {
        "optimizer": fit.optimizer,
        "eta": fit.alpha,
        "beta": fit.beta,
        "log_likelihood": fit.loglik,
        "var_eta": fit.alpha_SE**2,
        "var_beta": fit.beta_SE**2,
        "cov_eta_beta": fit.Cov_alpha_beta,
        "eta_lower": fit.alpha_lower,
        "eta_upper": fit.alpha_upper,
        "beta_lower": fit.beta_lower,
        "beta_upper": fit.beta_upper,
        "unreliability": cdf_bounds(fit.distribution, ci, times),
    }
    durations = np.array(failures + suspensions)
    events = np.array([1] * len(failures) + [0] * len(suspensions))
    wf = WeibullFitter().fit(durations, events)
    eta, beta = exact_mle(np.array(failures), np.array(suspensions))
    at_exact = library_method_at(eta, beta, failures, suspensions, ci, times)
    # Plotting positions only where no failure ties a suspension (the library's order at such a
    # tie is not defined); ties among failures give the same sorted list either way.
    positions = None
    if not set(failures) & set(suspensions):
        x, y = plotting_positions(failures=failures, right_censored=suspensions or None, sort=True)
        positions = [{"time": a, "unreliability": b} for a, b in zip(x, y)]
    write(
        f"weibull_{name}",
        {
            "description": description,
            "unit": unit,
            "confidence": ci,
            "failures": failures,
            "suspensions": suspensions,
            "reliability_fit": library,
            "reliability_method_at_exact_mle": at_exact,
            "lifelines": {"eta": wf.lambda_, "beta": wf.rho_, "log_likelihood": wf.log_likelihood_},
            "plotting_positions": positions,
        },
    )
    print(f"  {name}: {len(failures)} failures, {len(suspensions)} suspensions, beta {beta:.4f}, eta {eta:.4f}")


def weibull_sets():
    # 1. Unstable: 3 failures among 40 units (months in service).
    rng = np.random.default_rng(20240301)
    failures = np.round(np.sort(rng.uniform(2, 30, 3)), 1)
    suspensions = np.round(rng.uniform(1, 36, 37), 1)
    weibull_fixture(
        "small_unstable",
        "3 failures among 40 units, months in service: the unstable case",
        "months",
        failures,
        suspensions,
        [6, 12, 24, 36],
    )

    # 2. Moderate: 25 failures + 200 suspensions, months in service (one decimal).
    rng = np.random.default_rng(20240302)
    lives = []
    while len(lives) < 25:
        t = 60 * rng.weibull(1.4)
        if 0.1 <= t <= 48:
            lives.append(round(t, 1))
    suspensions = np.round(rng.uniform(1, 48, 200), 1)
    weibull_fixture(
        "moderate_months",
        "25 failures and 200 suspensions by months in service",
        "months",
        lives,
        suspensions,
        [3, 12, 24, 48],
    )

    # 3. Large simulation: 3000 vehicles, lifetimes Weibull(beta 1.8, eta 400 months), each
    #    vehicle observed to an age drawn uniformly from 1..60 whole months.
    rng = np.random.default_rng(20240303)
    life = 400 * rng.weibull(1.8, 3000)
    age = rng.integers(1, 61, 3000).astype(float)
    failed = life < age
    weibull_fixture(
        "large_simulated",
        "3000 vehicles, Weibull(beta 1.8, eta 400 months) lifetimes censored at staggered ages 1-60 months",
        "months",
        np.round(life[failed], 3),
        age[~failed],
        [12, 24, 36, 48, 60, 120],
    )

    # 4. Km: 800 vehicles, lifetimes Weibull(beta 2.5, eta 180 000 km), odometers 2 000-150 000 km.
    rng = np.random.default_rng(20240304)
    life = 180_000 * rng.weibull(2.5, 800)
    odo = np.round(rng.uniform(2_000, 150_000, 800))
    failed = life < odo
    weibull_fixture(
        "km",
        "800 vehicles, Weibull(beta 2.5, eta 180000 km) lifetimes, odometers 2000-150000 km",
        "km",
        np.round(life[failed]),
        odo[~failed],
        [20_000, 60_000, 100_000, 160_000],
    )

    # 5. Complete data (no suspensions), bounds at 90 %.
    rng = np.random.default_rng(20240305)
    weibull_fixture(
        "complete_90",
        "20 failures, no suspensions, Weibull(beta 0.8, eta 30): bounds at 90 %",
        "months",
        np.round(30 * rng.weibull(0.8, 20), 2),
        [],
        [1, 10, 30],
        ci=0.90,
    )


# ---------------------------------------------------------------- Laney u'


def laney(counts, exposure, baseline=None, k_sigma=3.0, run_length=8, lam=0.2, width=3.0, k=0.5, h=4.0):
    counts = np.asarray(counts, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    b = len(counts) if baseline is None else baseline
    ubar = counts[:b].sum() / exposure[:b].sum()
    u = counts / exposure
    s = np.sqrt(ubar / exposure)
    z = (u - ubar) / s
    mr = np.abs(np.diff(z[:b])).mean()
    sigma_z = mr / 1.128
    upper = ubar + k_sigma * s * sigma_z
    lower = np.maximum(ubar - k_sigma * s * sigma_z, 0.0)
    w = z / sigma_z
    ewma, cusum, run = 0.0, 0.0, 0
    points = []
    for i in range(len(u)):
        run = run + 1 if u[i] > ubar else 0
        ewma = lam * w[i] + (1 - lam) * ewma
        ewma_upper = width * math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * (i + 1))))
        cusum = max(0.0, cusum + w[i] - k)
        points.append(
            {
                "rate": u[i],
                "lower": lower[i],
                "upper": upper[i],
                "z": z[i],
                "standardised": w[i],
                "above_upper": bool(u[i] > upper[i]),
                "run_above": run >= run_length,
                "ewma": ewma,
                "ewma_upper": ewma_upper,
                "ewma_signal": bool(ewma > ewma_upper),
                "cusum": cusum,
                "cusum_signal": bool(cusum > h),
            }
        )
    return {
        "baseline": b,
        "centre": ubar,
        "mean_moving_range": mr,
        "sigma_z": sigma_z,
        "points": points,
    }


def laney_sets():
    # A component whose rate rises in the last 6 of 36 months, over a growing fleet; the monthly
    # rate also varies by about 8 % (gamma), the overdispersion Laney's chart allows for.
    rng = np.random.default_rng(20240310)
    months = 36
    exposure = np.round(np.linspace(8_000, 60_000, months))
    rate = 0.004 * rng.gamma(1 / 0.08**2, 0.08**2, months)
    rate[-6:] *= np.array([1.25, 1.4, 1.55, 1.7, 1.85, 2.0])
    counts = rng.poisson(rate * exposure)
    chart_all = laney(counts, exposure)
    chart_base = laney(counts, exposure, baseline=24)
    assert any(p["above_upper"] for p in chart_base["points"][-6:]), "the rise must show"
    write(
        "laney_rising",
        {
            "description": "36 months of claims over vehicles at risk, the rate rising in the last 6",
            "counts": counts,
            "exposure": exposure,
            "charts": [
                {"options": {"baseline": None}, **chart_all},
                {"options": {"baseline": 24}, **chart_base},
            ],
        },
    )

    # A stable component over a fleet of millions (huge denominators) with 3 % monthly variation.
    rng = np.random.default_rng(20240311)
    months = 24
    exposure = np.round(np.linspace(2_000_000, 3_500_000, months))
    rate = 0.0015 * rng.gamma(1 / 0.03**2, 0.03**2, months)
    counts = rng.poisson(rate * exposure)
    write(
        "laney_huge_stable",
        {
            "description": "24 months over 2-3.5 million vehicles at risk, stable rate with 3 % monthly variation",
            "counts": counts,
            "exposure": exposure,
            "charts": [{"options": {"baseline": None}, **laney(counts, exposure)}],
        },
    )


# ---------------------------------------------------------------- funnel


def percentile7(values, p):
    return float(np.percentile(values, 100 * p, method="linear"))


def funnel(values, se, sizes, target, floor_at_zero, winsor=0.1, additive=True):
    values, se = np.asarray(values, dtype=float), np.asarray(se, dtype=float)
    n = len(values)
    z = (values - target) / se
    lo, hi = percentile7(z, winsor), percentile7(z, 1 - winsor)
    phi = float((np.clip(z, lo, hi) ** 2).sum() / n)
    overdispersed = n * phi > n - 1
    tau2 = 0.0
    if overdispersed and additive:
        w = 1 / se**2
        tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    points = []
    for v, s, size in zip(values, se, sizes):
        row = {"value": v, "size": size, "standard_error": s, "z": (v - target) / math.sqrt(s * s + tau2)}
        for label, c in [("95", 0.95), ("998", 0.998)]:
            half = norm.ppf(0.5 + c / 2) * math.sqrt(s * s + tau2)
            lower = target - half
            if floor_at_zero:
                lower = max(lower, 0.0)
            upper = target + half
            row[f"lower_{label}"] = lower
            row[f"upper_{label}"] = upper
            row[f"position_{label}"] = "below" if v < lower else ("above" if v > upper else "inside")
        points.append(row)
    return {"target": target, "phi": phi, "overdispersed": bool(overdispersed), "tau2": tau2, "points": points}


def funnel_sets():
    # Claims per vehicle serviced at 30 service points; one (a Portuguese point in the demo)
    # claims at about 2.5 times its peers' rate.
    rng = np.random.default_rng(20240320)
    exposure = np.round(rng.uniform(150, 5_000, 30))
    rate = 0.08 * rng.gamma(1 / 0.2**2, 0.2**2, 30)
    rate[17] = 0.2
    counts = rng.poisson(rate * exposure)
    target = counts.sum() / exposure.sum()
    values = counts / exposure
    se = np.sqrt(target / exposure)
    additive = funnel(values, se, exposure, target, True)
    plain = funnel(values, se, exposure, target, True, additive=False)
    assert additive["points"][17]["position_998"] == "above", "the outlier must show"
    write(
        "funnel_rates",
        {
            "description": "claims per vehicle serviced at 30 service points, unit 17 claiming about 2.5x",
            "counts": counts,
            "exposure": exposure,
            "additive": additive,
            "none": plain,
        },
    )

    # Cost per claim (EUR) at 25 service points with a common claim-cost SD of 380.
    rng = np.random.default_rng(20240321)
    n = rng.integers(20, 800, 25)
    sd = 380.0
    means = np.round(rng.normal(450, 30, 25) + rng.normal(0, 1, 25) * sd / np.sqrt(n), 2)
    means[4] = 700.0
    target = float((n * means).sum() / n.sum())
    se = sd / np.sqrt(n)
    write(
        "funnel_means",
        {
            "description": "cost per claim at 25 service points, claim-cost SD 380, unit 4 at 700",
            "means": means,
            "n": n,
            "sd": sd,
            "additive": funnel(means, se, n.astype(float), target, False),
        },
    )


if __name__ == "__main__":
    weibull_sets()
    laney_sets()
    funnel_sets()
