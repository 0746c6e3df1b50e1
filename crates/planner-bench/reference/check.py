#!/usr/bin/env python3
"""Independent feasibility check of a reference.py result, in double precision.

Usage:
    check.py FORMAT INSTANCE_PATH [RESULT_JSON_FILE|-]   (default: read the JSON line from stdin)

FORMAT is solomon or lilim. Prints one line: solver, feasible or the violations, vehicles, distance and, when
bks.csv sits two folders above the instance (the shared benchmark layout), the gap to the best-known solution.
Exit code 0 when feasible, 1 when infeasible or when the result carries an error.

Checks (conventions of /work/shared/benchmarks/vrp/README.md): every customer exactly once; no depot or unknown id
in a route; capacity (Solomon: route demand sum; Li & Lim: running load never above capacity nor below 0);
time windows with waiting (Euclidean distance in double precision, travel time = distance, service at the stop,
arrival after due is infeasible); return to the depot by its due date; Li & Lim: pickup before its delivery on
the same route. Standard library only, so it runs with any python3.
"""
import csv
import json
import math
import os
import sys

EPS = 1e-9  # tolerance for double rounding noise only


def read_nodes(fmt, path):
    with open(path) as fh:
        lines = [ln.split() for ln in fh.read().splitlines()]
    rows = [ln for ln in lines if ln and all(_isnum(t) for t in ln)]
    if fmt == "solomon":
        vehicles, capacity = int(rows[0][0]), int(rows[0][1])
        nodes = [tuple(float(t) for t in r[:7]) + (0, 0) for r in rows[1:] if len(r) >= 7]
    elif fmt == "lilim":
        vehicles, capacity = int(rows[0][0]), int(rows[0][1])
        nodes = [tuple(float(t) for t in r[:9]) for r in rows[1:] if len(r) >= 9]
    else:
        raise SystemExit(f"unknown format {fmt}")
    # node: id x y demand ready due service pickup_sibling delivery_sibling
    by_id = {int(n[0]): n for n in nodes}
    return vehicles, capacity, by_id


def _isnum(t):
    try:
        float(t)
        return True
    except ValueError:
        return False


def check(fmt, path, result):
    vehicles, capacity, node = read_nodes(fmt, path)
    depot = node[0]
    problems = []

    def d(a, b):
        dx, dy = node[a][1] - node[b][1], node[a][2] - node[b][2]
        return math.sqrt(dx * dx + dy * dy)

    routes = [r for r in result.get("routes", []) if r]
    seen = {}
    for ri, r in enumerate(routes):
        for v in r:
            if v == 0 or v not in node:
                problems.append(f"route {ri}: bad node id {v}")
            elif v in seen:
                problems.append(f"node {v} visited twice (routes {seen[v]} and {ri})")
            else:
                seen[v] = ri
    missing = sorted(set(node) - {0} - set(seen))
    if missing:
        problems.append(f"{len(missing)} customers not visited: {missing[:10]}")
    if len(routes) > vehicles:
        problems.append(f"{len(routes)} routes but only {vehicles} vehicles")

    total = 0.0
    for ri, r in enumerate(routes):
        if any(v not in node or v == 0 for v in r):
            continue
        t = depot[4]
        load = 0.0
        prev = 0
        route_dist = 0.0
        pos = {v: i for i, v in enumerate(r)}
        if fmt == "solomon":
            load = sum(node[v][3] for v in r)
            if load > capacity + EPS:
                problems.append(f"route {ri}: load {load} > capacity {capacity}")
        for v in r:
            n = node[v]
            dist = d(prev, v)
            route_dist += dist
            t = max(t + dist, n[4])
            if t > n[5] + EPS:
                problems.append(f"route {ri}: node {v} served at {t:.6f} after due {n[5]:g}")
            t += n[6]
            if fmt == "lilim":
                load += n[3]
                if load > capacity + EPS or load < -EPS:
                    problems.append(f"route {ri}: load {load:g} out of [0, {capacity}] after node {v}")
                if n[3] > 0:  # pickup: its delivery must follow on the same route
                    dl = int(n[8])
                    if dl not in pos or pos[dl] < pos[v]:
                        problems.append(f"route {ri}: pickup {v} without its delivery {dl} later on the route")
                elif n[3] < 0:
                    pk = int(n[7])
                    if pk not in pos or pos[pk] > pos[v]:
                        problems.append(f"route {ri}: delivery {v} without its pickup {pk} earlier on the route")
            prev = v
        dist = d(prev, 0)
        route_dist += dist
        t += dist
        if t > depot[5] + EPS:
            problems.append(f"route {ri}: back at depot at {t:.6f} after due {depot[5]:g}")
        total += route_dist
    return problems, len(routes), total


def bks_for(path):
    name = os.path.splitext(os.path.basename(path))[0]
    bks = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), "bks.csv")
    if not os.path.exists(bks):
        return None
    with open(bks) as fh:
        for row in csv.DictReader(fh):
            if row["instance"].lower() == name.lower() and row["objective"] == "hierarchical":
                return int(row["vehicles"]), float(row["distance"])
    return None


def main(argv):
    if len(argv) not in (3, 4):
        raise SystemExit(__doc__)
    fmt, path = argv[1], argv[2]
    src = argv[3] if len(argv) == 4 else "-"
    text = sys.stdin.read() if src == "-" else open(src).read()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) != 1:
        print(f"expected exactly one JSON line, got {len(lines)}")
        return 1
    result = json.loads(lines[0])
    solver = result.get("solver")
    if result.get("error"):
        print(f"{solver} {os.path.basename(path)}: error: {result['error']}")
        return 1
    problems, veh, dist = check(fmt, path, result)
    bks = bks_for(path)
    gap = ""
    if bks:
        gap = f" | BKS {bks[0]} veh {bks[1]:.2f} | gap {(dist / bks[1] - 1) * 100:+.2f}% veh {veh - bks[0]:+d}"
    status = "FEASIBLE" if not problems else "INFEASIBLE"
    tf, tb = result.get("time_to_first"), result.get("time_to_best")
    print(f"{solver} {os.path.basename(path)}: {status} vehicles {veh} distance {dist:.2f}{gap}"
          f" | wall {result.get('wall'):.2f}s first {tf if tf is None else round(tf, 3)} best {tb if tb is None else round(tb, 3)}")
    for p in problems[:20]:
        print("  " + p)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
