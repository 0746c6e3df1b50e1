"""The KPI benchmark's reference (issue 20): the same figures as plain SQL aggregates in DuckDB
over the same raw rows. `aftersales bench-kpis --duckdb` runs it on the SQLite file it wrote.

Reads repair_orders, ro_events and surveys from the SQLite file into DuckDB (in memory, the
load timed apart), then times, median of the runs, per view:
- CSAT over the period by service point (answers of 4-5 / all answers x 100);
- turnaround over the period by service point (delivered - checked in, in days, over repair
  orders delivered in the period, not cancelled);
- NPS over the period by service point;
- the three at once (the part of the dashboard they are).
Periods are Unix microseconds [from, to), as the product stores times.
Prints one JSON object: {"duckdb": version, "load_s": seconds, "rows": {view: ms}}.

Run: python3 tools/kpis/duckdb_bench.py FILE.db FROM_US TO_US RUNS
"""

import json
import sqlite3
import statistics
import sys
import time

import duckdb
import pandas as pd


def main():
    path, lo, hi, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    t = time.perf_counter()
    src = sqlite3.connect(path)
    con = duckdb.connect()
    for table, cols in [
        ("repair_orders", "id, organisation_id, vehicle_id, status, created_at"),
        ("ro_events", "repair_order_id, kind, status, \"at\""),
        ("surveys", "repair_order_id, organisation_id, answered_at, csat, nps"),
    ]:
        df = pd.read_sql_query(f"SELECT {cols} FROM {table}", src)
        con.register("df", df)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM df")
        con.unregister("df")
    load = time.perf_counter() - t

    csat = f"""
        SELECT organisation_id, 100.0 * SUM(CASE WHEN csat >= 4 THEN 1 ELSE 0 END) / COUNT(*) AS v, COUNT(*) AS n
        FROM surveys WHERE csat IS NOT NULL AND answered_at >= {lo} AND answered_at < {hi}
        GROUP BY organisation_id"""
    nps = f"""
        SELECT organisation_id,
               100.0 * (SUM(CASE WHEN nps >= 9 THEN 1 ELSE 0 END) - SUM(CASE WHEN nps <= 6 THEN 1 ELSE 0 END)) / COUNT(*) AS v,
               COUNT(*) AS n
        FROM surveys WHERE nps IS NOT NULL AND answered_at >= {lo} AND answered_at < {hi}
        GROUP BY organisation_id"""
    turnaround = f"""
        WITH d AS (SELECT repair_order_id, MIN("at") AS out_at FROM ro_events
                   WHERE kind = 'status' AND status = 'delivered' GROUP BY repair_order_id),
             c AS (SELECT repair_order_id, MIN("at") AS in_at FROM ro_events
                   WHERE kind = 'status' AND status = 'checked-in' GROUP BY repair_order_id)
        SELECT r.organisation_id, AVG((d.out_at - c.in_at) / 86400e6) AS v, COUNT(*) AS n
        FROM d JOIN c USING (repair_order_id) JOIN repair_orders r ON r.id = d.repair_order_id
        WHERE d.out_at >= {lo} AND d.out_at < {hi} AND c.in_at <= d.out_at AND r.status <> 'cancelled'
        GROUP BY r.organisation_id"""

    def timed(sqls):
        all_ms = []
        for _ in range(max(runs, 1)):
            t = time.perf_counter()
            for s in sqls:
                con.execute(s).fetchall()
            all_ms.append((time.perf_counter() - t) * 1000.0)
        return statistics.median(all_ms)

    rows = {
        "csat": timed([csat]),
        "turnaround": timed([turnaround]),
        "nps": timed([nps]),
        "three": timed([csat, turnaround, nps]),
    }
    print(json.dumps({"duckdb": duckdb.__version__, "load_s": load, "rows": rows}))


if __name__ == "__main__":
    main()
