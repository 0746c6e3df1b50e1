#!/usr/bin/env python3
"""Runs PyVRP or VROOM on one service-centre day exported by `planner-bench logistics` and prints ONE JSON line.

Usage:
    $VRP_REF_DIR/venv/bin/python logistics_ref.py SOLVER DAY.json TIME_LIMIT_SECONDS SEED

    SOLVER  pyvrp | vroom

The day is the job-node model of docs/decisions/0006: node 0 is the service point, node k a job whose service time
is its driving and hand-overs; travel between nodes is the driver's unassisted leg (seconds), `dist` metres moved.
Every job is a client with one time window on its start; each driver is one vehicle with its shift as its time
window, starting and ending at node 0. What neither solver expresses here: breaks (the generated shifts are at most
5.5 hours, so none is required) and locks (the benchmark days have none). Jobs may be left out: PyVRP clients are
optional with a prize far above any route cost; VROOM leaves out what it cannot serve.

Objective given to both: serve as many jobs as possible, then least driver time (durations as the cost).

Output: {"solver", "version", "routes": [[vehicle, [nodes...]], ...], "wall": s, "error": null|"message"}
"""
import json
import sys
import time


def solve_pyvrp(day, limit, seed):
    import numpy as np
    from importlib.metadata import version
    from pyvrp import Client, Depot, Location, ProblemData, VehicleType, solve
    from pyvrp.stop import MaxRuntime

    n = day["n"]
    locations = [Location(x=0, y=0) for _ in range(n)]
    depots = [Depot(location=0)]
    prize = day["prize"]
    clients = [
        Client(location=k, service_duration=day["service"][k], tw_early=day["windows"][k][0],
               tw_late=day["windows"][k][1], required=False, prize=prize)
        for k in range(1, n)
    ]
    types = [
        VehicleType(num_available=1, start_depot=0, end_depot=0, tw_early=a, tw_late=b, unit_distance_cost=0,
                    unit_duration_cost=1)
        for a, b in day["vehicles"]
    ]
    data = ProblemData(locations=locations, clients=clients, depots=depots, vehicle_types=types,
                       distance_matrices=[np.array(day["dist"], dtype=np.int64)],
                       duration_matrices=[np.array(day["time"], dtype=np.int64)])
    t0 = time.perf_counter()
    res = solve(data, stop=MaxRuntime(limit), seed=seed, collect_stats=False, display=False)
    wall = time.perf_counter() - t0
    best = res.best
    if not best.is_feasible():
        return version("pyvrp"), [], wall, "pyvrp found no feasible solution within the time limit"
    routes = []
    for route in best.routes():
        seq = [data.client(a.idx).location for a in route.schedule() if a.is_client()]
        routes.append([route.vehicle_type(), seq])
    return version("pyvrp"), routes, wall, None


def solve_vroom(day, limit, seed):
    from datetime import timedelta
    from importlib.metadata import version
    import vroom

    n = day["n"]
    problem = vroom.Input()
    problem.set_durations_matrix("car", day["time"])
    problem.set_costs_matrix("car", day["time"])
    for v, (a, b) in enumerate(day["vehicles"]):
        problem.add_vehicle(vroom.Vehicle(id=v + 1, start=0, end=0, time_window=vroom.TimeWindow(a, b)))
    for k in range(1, n):
        a, b = day["windows"][k]
        problem.add_job(vroom.Job(id=k, location=k, default_service=day["service"][k],
                                  time_windows=[vroom.TimeWindow(a, b)]))
    t0 = time.perf_counter()
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit))
    wall = time.perf_counter() - t0
    df = sol.routes
    steps = df[df["type"] == "job"]
    routes = [[int(v) - 1, [int(x) for x in g["location_index"]]] for v, g in steps.groupby("vehicle_id", sort=True)]
    return version("pyvroom"), routes, wall, None


def main():
    solver, path, limit, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    with open(path) as fh:
        day = json.load(fh)
    try:
        fn = {"pyvrp": solve_pyvrp, "vroom": solve_vroom}[solver]
        ver, routes, wall, err = fn(day, limit, seed)
        out = {"solver": solver, "version": ver, "routes": routes, "wall": wall, "error": err}
    except Exception as e:  # one JSON line whatever happens
        out = {"solver": solver, "version": None, "routes": [], "wall": None, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
