#!/usr/bin/env python3
"""Pairwise distance gaps from the benchmark CSVs: for our planner and each reference solver, the mean gap to the
best-known distance over the instances that BOTH solved with the best-known vehicle count.

The per-set tables average each solver's gap over its own instances at BKS vehicles, which are different sets of
instances for different solvers (a solver that keeps one vehicle more on a hard instance leaves it out). This
compares like with like. It only reads the CSVs that `planner-bench run` wrote; nothing is re-run.

    python3 crates/planner-bench/reference/common_gap.py docs/bench/vrp-results-solomon-10s.csv [...]

Prints one markdown table per CSV.
"""

import csv
import sys
from collections import defaultdict

OURS = "aftersales"


def at_bks(row):
    """Solved (no error, a distance), with the best-known vehicle count."""
    if row.get("error") or not row.get("distance") or not row.get("vehicles"):
        return False
    return int(row["vehicles"]) == int(row["bks_vehicles"])


def table(path):
    rows = list(csv.DictReader(open(path, newline="")))
    if not rows:
        return f"{path}: no rows\n"
    by_solver = defaultdict(dict)
    for r in rows:
        by_solver[r["solver"]][r["instance"]] = r
    ours = by_solver.get(OURS, {})
    head = rows[0]
    out = [
        f"#### {head['set']}, {head['budget_s']} s: mean gap % on the instances both solved at BKS vehicles",
        "",
        f"| reference | instances both at BKS vehicles | {OURS} mean gap % | reference mean gap % |"
        " only we at BKS vehicles | only they at BKS vehicles |",
        "|---|---|---|---|---|---|",
    ]
    for solver in sorted(s for s in by_solver if s != OURS):
        theirs = by_solver[solver]
        both = [i for i in ours if i in theirs and at_bks(ours[i]) and at_bks(theirs[i])]
        only_us = sum(1 for i in ours if at_bks(ours[i]) and not (i in theirs and at_bks(theirs[i])))
        only_them = sum(1 for i in theirs if at_bks(theirs[i]) and not (i in ours and at_bks(ours[i])))
        if both:
            g_us = sum(float(ours[i]["gap_pct"]) for i in both) / len(both)
            g_them = sum(float(theirs[i]["gap_pct"]) for i in both) / len(both)
            out.append(f"| {solver} | {len(both)} | {g_us:.2f} | {g_them:.2f} | {only_us} | {only_them} |")
        else:
            out.append(f"| {solver} | 0 | – | – | {only_us} | {only_them} |")
    return "\n".join(out) + "\n"


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for p in paths:
        print(table(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
