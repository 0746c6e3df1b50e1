#!/usr/bin/env python3
"""Runs one reference VRP solver on one benchmark instance and prints ONE JSON line.

Usage:
    $VRP_REF_DIR/venv/bin/python reference.py SOLVER FORMAT INSTANCE_PATH TIME_LIMIT_SECONDS SEED

    SOLVER  pyvrp | vroom | ortools | vrp-cli
    FORMAT  solomon | lilim

Output (stdout, exactly one line, exit code 0 even on failure):
    {"solver": ..., "version": ..., "routes": [[node ids, depot excluded], ...], "time_to_first": s|null,
     "time_to_best": s|null, "wall": s, "error": null|"message"}

Conventions (see /work/shared/benchmarks/vrp/README.md): Euclidean distances in double precision, travel time =
distance, service at the stop, waiting allowed, node 0 is the depot and its window bounds every route. The fleet is
the vehicle count in the file. Objective: the literature's hierarchical one, fewest vehicles first, then distance.

Integer solvers (PyVRP, OR-Tools, VROOM) get everything scaled by SCALE. Travel times are rounded UP
(ceil(SCALE * d)), so a schedule that is feasible with the integer times is also feasible with exact doubles (the
integer arrival time at every stop is >= SCALE * the exact one, windows and service times scale exactly because
they are integers in the files). Distances used in the objective are rounded to nearest. Only the routes are
reported: the benchmark recomputes distance and feasibility in double precision itself.

Vehicle count first, per solver:
  * PyVRP:    VehicleType.fixed_cost = FIXED (below); plus unit_distance_cost 1 on the rounded distances.
  * OR-Tools: RoutingModel.SetFixedCostOfAllVehicles(FIXED); arc cost = rounded distances.
  * VROOM:    VehicleCosts(fixed=FIXED) with a custom cost matrix = rounded distances (durations matrix = ceil).
              VROOM takes uint32 user costs, so it gets the largest power of ten <= SCALE for which FIXED fits
              (10^3 on Homberger's 1,000-customer instances; Instance.scale_within).
  * vrp-cli:  its own scientific-format goal, which is already hierarchical: (min_unassigned, min_tours,
              min_distance) with exact double distances (vrp-scientific create_goal_context_prefer_min_tours);
              nothing to set.
FIXED = SCALE * (sum over customers of their longest outgoing edge + fleet * longest depot edge) + 1, an upper
bound on the total distance of ANY solution, so one vehicle less always beats any distance saving.

Single thread: PyVRP and OR-Tools routing search are single-threaded; VROOM gets nb_threads=1; vrp-cli gets
`--parallelism 1,1` and RAYON_NUM_THREADS=1.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

SCALE = 10_000  # times, distances x 1e4: max horizon 3598 -> 3.6e7, fits VROOM's uint32 user durations


# ------------------------------------------------------------------------------------------------ instance ----
class Instance:
    """nodes[i] = (id, x, y, demand, ready, due, service, pickup_sibling, delivery_sibling); nodes[0] is the depot."""

    def __init__(self, fmt, path):
        self.fmt = fmt
        with open(path) as fh:
            toks = [ln.split() for ln in fh.read().splitlines()]
        rows = [t for t in toks if t and all(_isnum(x) for x in t)]
        if fmt == "solomon":
            self.vehicles, self.capacity = int(rows[0][0]), int(rows[0][1])
            nodes = [_node(r[:7] + ["0", "0"]) for r in rows[1:] if len(r) >= 7]
        elif fmt == "lilim":
            self.vehicles, self.capacity = int(rows[0][0]), int(rows[0][1])  # third header field (speed) unused
            nodes = [_node(r[:9]) for r in rows[1:] if len(r) >= 9]
        else:
            raise ValueError(f"unknown format {fmt!r} (solomon or lilim)")
        if nodes[0][0] != 0:
            raise ValueError("first node must be the depot with id 0")
        self.nodes = nodes
        self.n = len(nodes)
        self.ids = [nd[0] for nd in nodes]
        self.index_of = {nid: i for i, nid in enumerate(self.ids)}
        xs = [nd[1] for nd in nodes]
        ys = [nd[2] for nd in nodes]
        self.dist = [[math.sqrt((xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2) for j in range(self.n)]
                     for i in range(self.n)]
        # pickup index -> delivery index (Li & Lim: a pickup has demand > 0 and names its delivery last)
        self.pairs = []
        if fmt == "lilim":
            for i, nd in enumerate(nodes[1:], start=1):
                if nd[3] > 0:
                    self.pairs.append((i, self.index_of[nd[8]]))
            if 2 * len(self.pairs) != self.n - 1:
                raise ValueError("Li & Lim instance: not every stop belongs to exactly one pickup/delivery pair")

    def int_travel(self, scale=SCALE):
        """ceil(scale * d): integer travel times that never underestimate the exact ones."""
        return [[math.ceil(scale * d) for d in row] for row in self.dist]

    def int_dist(self, scale=SCALE):
        return [[round(scale * d) for d in row] for row in self.dist]

    def fixed_cost(self, scale=SCALE):
        longest = [max(row) for row in self.dist]
        bound = sum(longest[1:]) + self.vehicles * longest[0]
        return int(math.ceil(scale * bound)) + 1

    def scale_within(self, limit):
        """The largest power of ten <= SCALE whose fixed vehicle cost is at most `limit` (VROOM's user costs are
        uint32). Homberger's 1,000-customer instances need 10^3 instead of 10^4: distances are then kept to the
        thousandth, still far below the benchmark's own double-precision recomputation."""
        scale = SCALE
        while scale > 1 and self.fixed_cost(scale) > limit:
            scale //= 10
        if self.fixed_cost(scale) > limit:
            raise ValueError(f"fixed vehicle cost {self.fixed_cost(scale)} does not fit {limit} even unscaled")
        return scale

    def routes_to_ids(self, routes):
        return [[self.ids[i] for i in r] for r in routes if r]


def _node(r):
    """id, x, y as given (coordinates may be real), the rest integers (all integers in the published files)."""
    return [int(r[0]), float(r[1]), float(r[2])] + [int(float(v)) for v in r[3:9]]


def _isnum(t):
    try:
        float(t)
        return True
    except ValueError:
        return False


class Clock:
    """Times relative to the start of the solve call; first feasible and last improvement."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.first = None
        self.best = None
        self.best_cost = None

    def now(self):
        return time.perf_counter() - self.t0

    def improved(self, cost):
        t = self.now()
        if self.first is None:
            self.first = t
        if self.best_cost is None or cost < self.best_cost:
            self.best_cost = cost
            self.best = t


# ---------------------------------------------------------------------------------------------------- PyVRP ----
def solve_pyvrp(inst, limit, seed):
    """PyVRP (iterated local search since 0.14). VRPTW: clients with delivery demand. PDPTW: PyVRP >= 0.14 has
    Shipment (paired pickup and delivery on the same route, pickup first); each Li & Lim pair is one Shipment.
    Stop: MaxRuntime(limit) (counts from the first stop check, after PyVRP builds its initial solution)."""
    import numpy as np
    from importlib.metadata import version
    from pyvrp import (Client, Depot, Location, ProblemData, Shipment, VehicleType, solve)
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchCallbacks, IteratedLocalSearchParams
    from pyvrp.solve import SolveParams
    from pyvrp.stop import MaxRuntime

    ver = version("pyvrp")
    nd = inst.nodes
    depot = nd[0]
    locations = [Location(x=float(r[1]), y=float(r[2])) for r in nd]
    depots = [Depot(location=0, tw_early=SCALE * depot[4], tw_late=SCALE * depot[5])]
    clients, shipments = [], []
    if inst.fmt == "solomon":
        for i in range(1, inst.n):
            r = nd[i]
            clients.append(Client(location=i, delivery=[r[3]], service_duration=SCALE * r[6],
                                  tw_early=SCALE * r[4], tw_late=SCALE * r[5]))
    else:
        for p, d in inst.pairs:
            rp, rd = nd[p], nd[d]
            shipments.append(Shipment(
                pickup_location=p, delivery_location=d,
                pickup_tw_early=SCALE * rp[4], pickup_tw_late=SCALE * rp[5], pickup_service_duration=SCALE * rp[6],
                delivery_tw_early=SCALE * rd[4], delivery_tw_late=SCALE * rd[5],
                delivery_service_duration=SCALE * rd[6], amount=[rp[3]]))
    vt = VehicleType(num_available=inst.vehicles, capacity=[inst.capacity], start_depot=0, end_depot=0,
                     fixed_cost=inst.fixed_cost(), tw_early=SCALE * depot[4], tw_late=SCALE * depot[5],
                     unit_distance_cost=1)
    data = ProblemData(locations=locations, clients=clients, depots=depots, vehicle_types=[vt],
                       distance_matrices=[np.array(inst.int_dist(), dtype=np.int64)],
                       duration_matrices=[np.array(inst.int_travel(), dtype=np.int64)],
                       shipments=shipments)

    clock = Clock()

    class Track(IteratedLocalSearchCallbacks):
        def on_start(self, ils):
            init = ils.initial_solution
            if init.is_feasible() and init.is_complete():
                clock.improved(init.distance() + init.fixed_vehicle_cost())

        def on_best(self, best):
            if best.is_feasible() and best.is_complete():
                clock.improved(best.distance() + best.fixed_vehicle_cost())

    params = SolveParams(ils=IteratedLocalSearchParams(callbacks=Track()))
    clock.t0 = time.perf_counter()
    res = solve(data, stop=MaxRuntime(limit), seed=seed, collect_stats=False, display=False, params=params)
    wall = clock.now()
    best = res.best
    if not (best.is_feasible() and best.is_complete()):
        return ver, [], clock, wall, "pyvrp found no feasible complete solution within the time limit"

    # Locations: 0 = depot, i = instance node i. Shipment activities: pickup/delivery of shipment k.
    routes = []
    for route in best.routes():
        seq = []
        for act in route.schedule():
            if act.is_depot():
                continue
            if act.is_client():
                seq.append(data.client(act.idx).location)
            elif act.is_pickup():
                seq.append(data.shipment(act.idx).pickup.location)
            elif act.is_delivery():
                seq.append(data.shipment(act.idx).delivery.location)
        routes.append(seq)
    return ver, inst.routes_to_ids(routes), clock, wall, None


# -------------------------------------------------------------------------------------------------- OR-Tools ----
def solve_ortools(inst, limit, seed):
    """OR-Tools routing (single-threaded CP local search). First solution PARALLEL_CHEAPEST_INSERTION (it inserts
    pickup/delivery pairs together as well), then GUIDED_LOCAL_SEARCH until the time limit. Transits are
    registered as matrices (no Python callback per arc). Time dimension: transit(i, j) = service(i) +
    ceil(SCALE d(i, j)), slack (waiting) up to the horizon, customer windows on the cumul, vehicle start/end
    cumuls inside the depot window. PDPTW: AddPickupAndDelivery + same vehicle + pickup time <= delivery time,
    capacity dimension with +q/-q and start load 0. SEED is not used: the routing search is deterministic.
    Time to first / best: an AddAtSolutionCallback reading the cost variable."""
    from importlib.metadata import version
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    ver = version("ortools")
    nd = inst.nodes
    n, K = inst.n, inst.vehicles
    manager = pywrapcp.RoutingIndexManager(n, K, 0)
    routing = pywrapcp.RoutingModel(manager)

    dist_cb = routing.RegisterTransitMatrix(inst.int_dist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    routing.SetFixedCostOfAllVehicles(inst.fixed_cost())

    travel = inst.int_travel()
    time_m = [[SCALE * nd[i][6] + travel[i][j] if i != j else 0 for j in range(n)] for i in range(n)]
    time_cb = routing.RegisterTransitMatrix(time_m)
    horizon = SCALE * nd[0][5]
    routing.AddDimension(time_cb, horizon, horizon, False, "Time")
    tdim = routing.GetDimensionOrDie("Time")
    for i in range(1, n):
        tdim.CumulVar(manager.NodeToIndex(i)).SetRange(SCALE * nd[i][4], SCALE * nd[i][5])
    for v in range(K):
        tdim.CumulVar(routing.Start(v)).SetRange(SCALE * nd[0][4], SCALE * nd[0][5])
        tdim.CumulVar(routing.End(v)).SetRange(SCALE * nd[0][4], SCALE * nd[0][5])

    dem_cb = routing.RegisterUnaryTransitVector([nd[i][3] for i in range(n)])
    routing.AddDimensionWithVehicleCapacity(dem_cb, 0, [inst.capacity] * K, True, "Capacity")

    solver = routing.solver()
    for p, d in inst.pairs:
        pi, di = manager.NodeToIndex(p), manager.NodeToIndex(d)
        routing.AddPickupAndDelivery(pi, di)
        solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
        solver.Add(tdim.CumulVar(pi) <= tdim.CumulVar(di))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(round(limit * 1000))))

    clock = Clock()

    def on_solution():  # CostVar() only exists once the model is closed, so fetch it here
        clock.improved(routing.CostVar().Value())

    routing.AddAtSolutionCallback(on_solution)
    clock.t0 = time.perf_counter()
    sol = routing.SolveWithParameters(params)
    wall = clock.now()
    if sol is None:
        return ver, [], clock, wall, f"ortools found no solution (status {routing.status()})"
    routes = []
    for v in range(K):
        idx = routing.Start(v)
        seq = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            seq.append(manager.IndexToNode(idx))
            idx = sol.Value(routing.NextVar(idx))
        routes.append(seq)
    return ver, inst.routes_to_ids(routes), clock, wall, None


# ----------------------------------------------------------------------------------------------------- VROOM ----
def solve_vroom(inst, limit, seed):
    """VROOM through pyvroom. VRPTW: one Job per customer (delivery amount). PDPTW: one Shipment per Li & Lim pair
    (VROOM keeps pickup before delivery on one route). Custom matrices: durations = ceil, costs = rounded
    distances. exploration_level 5 (VROOM's default and maximum), nb_threads=1, timeout=limit (pyvroom passes it
    to VROOM, which stops its local searches when it expires). SEED is not used: VROOM is deterministic.
    VROOM reports neither time to first nor time to best (null)."""
    from datetime import timedelta
    from importlib.metadata import version
    import vroom

    ver = version("pyvroom")
    nd = inst.nodes
    problem = vroom.Input()
    scale = inst.scale_within(2 ** 32 - 1)
    problem.set_durations_matrix("car", inst.int_travel(scale))
    problem.set_costs_matrix("car", inst.int_dist(scale))
    depot_tw = vroom.TimeWindow(scale * nd[0][4], scale * nd[0][5])
    fixed = inst.fixed_cost(scale)
    for v in range(inst.vehicles):
        problem.add_vehicle(vroom.Vehicle(id=v + 1, start=0, end=0, capacity=[inst.capacity],
                                          time_window=depot_tw, costs=vroom.VehicleCosts(fixed=fixed)))

    def tw(r):
        return [vroom.TimeWindow(scale * r[4], scale * r[5])]

    if inst.fmt == "solomon":
        for i in range(1, inst.n):
            r = nd[i]
            problem.add_job(vroom.Job(id=i, location=i, default_service=scale * r[6], delivery=[r[3]],
                                      time_windows=tw(r)))
    else:
        for p, d in inst.pairs:
            rp, rd = nd[p], nd[d]
            problem.add_job(vroom.Shipment(
                pickup=vroom.ShipmentStep(id=p, location=p, default_service=scale * rp[6], time_windows=tw(rp)),
                delivery=vroom.ShipmentStep(id=d, location=d, default_service=scale * rd[6], time_windows=tw(rd)),
                amount=[rp[3]]))

    clock = Clock()
    sol = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=limit))
    wall = clock.now()
    unassigned = sol.summary.unassigned if hasattr(sol, "summary") else 0
    df = sol.routes
    steps = df[df["type"].isin(["job", "pickup", "delivery"])]
    routes = [list(g["location_index"]) for _, g in steps.groupby("vehicle_id", sort=True)]
    served = sum(len(r) for r in routes)
    if unassigned or served != inst.n - 1:
        return ver, [], clock, wall, f"vroom left {inst.n - 1 - served} stops unassigned"
    return ver, inst.routes_to_ids([[int(x) for x in r] for r in routes]), clock, wall, None


# --------------------------------------------------------------------------------------------------- vrp-cli ----
def vrp_cli_path():
    ref = os.environ.get("VRP_REF_DIR", "/var/tmp/aftersales-vrp-ref")
    return os.path.join(ref, "vrp-cli", "bin", "vrp-cli")


def solve_vrp_cli(inst, path, limit, seed):
    """vrp-cli (reinterpretcat/vrp) on the original file: `vrp-cli solve solomon|lilim FILE --max-time S
    --parallelism 1,1 --log -o OUT` with RAYON_NUM_THREADS=1. It reads both formats itself with double-precision
    distances (no --round). --max-time takes whole seconds only: the limit is rounded to the nearest whole second,
    at least 1. SEED is not used: vrp-cli has no seed option (its default RNG is seeded randomly, so runs are not
    repeatable). Output file (-o): `Route k: a b c` per route, then `Cost X`. Solomon: customer ids. Li & Lim: vrp-cli
    names each pickup/delivery pair by its 0-based index among the file's pickup lines and writes that index
    for both stops, so the first occurrence in a route is the pickup, the second the delivery. Times: see
    _vrp_cli_times (approximate)."""
    exe = vrp_cli_path()
    if not os.path.exists(exe):
        raise FileNotFoundError(f"vrp-cli not installed at {exe} (run install.sh)")
    ver = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    secs = max(1, int(round(limit)))
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    with tempfile.TemporaryDirectory(prefix="vrp-cli-") as tmp:
        out = os.path.join(tmp, "solution.txt")
        cmd = [exe, "solve", inst.fmt, path, "--max-time", str(secs), "--parallelism", "1,1", "--log", "-o", out]
        clock = Clock()
        # Read its log as it comes (Rust's stdout is line-buffered) and timestamp each line ourselves.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        log = [(clock.now(), line) for line in proc.stdout]
        proc.wait()
        wall = clock.now()
        text = open(out).read() if os.path.exists(out) else ""
    if proc.returncode != 0 or not text.strip():
        tail = [ln.strip() for _, ln in log if ln.strip()][-1:] or ["no output"]
        return ver, [], clock, wall, f"vrp-cli failed (exit {proc.returncode}): {tail[0][:300]}"
    _vrp_cli_times(log, clock)
    routes = []
    pairs = inst.pairs
    for line in text.splitlines():
        m = re.match(r"\s*Route\s+\d+\s*:(.*)$", line)
        if not m:
            continue
        toks = m.group(1).split()
        if inst.fmt == "solomon":
            routes.append([int(t) for t in toks])
        else:
            seen, seq = set(), []
            for t in toks:
                k = int(t)
                p, d = pairs[k]
                seq.append(inst.ids[d] if k in seen else inst.ids[p])
                seen.add(k)
            routes.append(seq)
    served = sum(len(r) for r in routes)
    if served != inst.n - 1:
        return ver, [], clock, wall, f"vrp-cli solution covers {served} of {inst.n - 1} stops"
    return ver, [r for r in routes if r], clock, wall, None


def _vrp_cli_times(log, clock):
    """Approximate times from vrp-cli's --log telemetry, stamped on arrival: it prints the fitness
    (unassigned, tours, distance) of its initial solution, then the best fitness every 100 generations and at the
    end. time_to_first = arrival of the first fitness line (initial solutions are complete and feasible, unassigned
    jobs aside); time_to_best = arrival of the first line showing the final best fitness, so it is an upper bound
    with the resolution of that logging interval."""
    fits = [(t, m.group(1)) for t, line in log if (m := re.search(r"fitness: \(([^)]*)\)", line))]
    if not fits:
        return
    clock.first = fits[0][0]
    final = fits[-1][1]
    clock.best = next(t for t, f in fits if f == final)


# ------------------------------------------------------------------------------------------------------ main ----
SOLVERS = {"pyvrp", "vroom", "ortools", "vrp-cli"}


def solver_version(solver):
    try:
        if solver == "vrp-cli":
            r = subprocess.run([vrp_cli_path(), "--version"], capture_output=True, text=True)
            return r.stdout.strip().split()[-1]
        from importlib.metadata import version
        return version({"vroom": "pyvroom"}.get(solver, solver))
    except Exception:
        return None


def main(argv):
    out = {"solver": argv[1] if len(argv) > 1 else None, "version": None, "routes": [], "time_to_first": None,
           "time_to_best": None, "wall": 0.0, "error": None}
    t_start = time.perf_counter()
    try:
        if len(argv) != 6:
            raise ValueError("usage: reference.py SOLVER FORMAT INSTANCE_PATH TIME_LIMIT_SECONDS SEED")
        solver, fmt, path, limit, seed = argv[1], argv[2], argv[3], float(argv[4]), int(argv[5])
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; one of {sorted(SOLVERS)}")
        out["version"] = solver_version(solver)
        if limit <= 0:
            raise ValueError("time limit must be positive")
        inst = Instance(fmt, path)
        if solver == "pyvrp":
            ver, routes, clock, wall, err = solve_pyvrp(inst, limit, seed)
        elif solver == "ortools":
            ver, routes, clock, wall, err = solve_ortools(inst, limit, seed)
        elif solver == "vroom":
            ver, routes, clock, wall, err = solve_vroom(inst, limit, seed)
        else:
            ver, routes, clock, wall, err = solve_vrp_cli(inst, path, limit, seed)
        out.update(version=ver, routes=routes if not err else [], wall=round(wall, 4), error=err,
                   time_to_first=None if clock.first is None else round(clock.first, 4),
                   time_to_best=None if clock.best is None else round(clock.best, 4))
    except Exception as e:  # report, never crash: the benchmark reads exactly one JSON line
        out["error"] = f"{type(e).__name__}: {e}"
        out["routes"] = []
        out["wall"] = round(time.perf_counter() - t_start, 4)
    return out


if __name__ == "__main__":
    # Solver libraries must not write to our stdout (OR-Tools/VROOM C++ logging, vrp-cli helpers): point fd 1 and
    # sys.stdout at stderr while solving, and write the single JSON line to the saved real stdout at the end.
    _real_stdout = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    result = main(sys.argv)
    os.write(_real_stdout, (json.dumps(result) + "\n").encode())
    sys.exit(0)
