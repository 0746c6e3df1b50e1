"""The KPI benchmark's reference (issue 20): the same figures as plain SQL aggregates in DuckDB
over the same raw rows. `aftersales bench-kpis --duckdb` runs it on the SQLite file it wrote.

Reads repair_orders, ro_events and surveys from the SQLite file into DuckDB (in memory, the
load timed apart), then times, median of the runs, per view:
- CSAT over the period by service point (answers of 4-5 / all answers x 100);
- turnaround over the period by service point (delivered - checked in, in days, over repair
  orders delivered in the period, not cancelled);
- NPS over the period by service point;
- the three at once (the part of the dashboard they are);
- a dashboard: by service point CSAT, NPS, turnaround, response and resolution SLA, first-time
  fix (no return of the same car for the same concern, a labour operation code or else the job's
  title, within 30 days; counted once the 30 days after the day are over) and logistics on
  time, over the period and over the twelve months given;
- first-time fix over the twelve months by month and service point.
Periods are Unix microseconds [from, to), as the product stores times; TODAY is the day number
(days since 1970-01-01) the 30 days are counted to.
Prints one JSON object: {"duckdb": version, "load_s": seconds, "rows": {view: ms}}.

Run: python3 tools/kpis/duckdb_bench.py FILE.db FROM_US TO_US RUNS YEAR_FROM_US YEAR_TO_US TODAY
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
    ylo, yhi, today = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
    t = time.perf_counter()
    src = sqlite3.connect(path)
    con = duckdb.connect()
    for table, cols in [
        ("repair_orders", "id, organisation_id, vehicle_id, status, created_at"),
        ("ro_events", "repair_order_id, kind, status, \"at\""),
        ("surveys", "repair_order_id, organisation_id, answered_at, csat, nps"),
        ("ro_jobs", "id, repair_order_id, title"),
        ("ro_lines", "job_id, kind, code"),
        ("cases", "organisation_id, created_at, first_responded_at, first_response_breached_at, "
                  "resolved_at, resolution_breached_at"),
        ("transport_jobs", "organisation_id, status, window_from, window_to, arrived_at"),
    ]:
        # In slices of a million rows: a brand-scale history does not fit in pandas at once.
        first = True
        for df in pd.read_sql_query(f"SELECT {cols} FROM {table}", src, chunksize=1_000_000):
            con.register("df", df)
            if first:
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM df")
                first = False
            else:
                con.execute(f"INSERT INTO {table} SELECT * FROM df")
            con.unregister("df")
    load = time.perf_counter() - t

    def csat(lo, hi):
        return f"""
        SELECT organisation_id, 100.0 * SUM(CASE WHEN csat >= 4 THEN 1 ELSE 0 END) / COUNT(*) AS v, COUNT(*) AS n
        FROM surveys WHERE csat IS NOT NULL AND answered_at >= {lo} AND answered_at < {hi}
        GROUP BY organisation_id"""
    def nps(lo, hi):
        return f"""
        SELECT organisation_id,
               100.0 * (SUM(CASE WHEN nps >= 9 THEN 1 ELSE 0 END) - SUM(CASE WHEN nps <= 6 THEN 1 ELSE 0 END)) / COUNT(*) AS v,
               COUNT(*) AS n
        FROM surveys WHERE nps IS NOT NULL AND answered_at >= {lo} AND answered_at < {hi}
        GROUP BY organisation_id"""
    def turnaround(lo, hi):
        return f"""
        WITH d AS (SELECT repair_order_id, MIN("at") AS out_at FROM ro_events
                   WHERE kind = 'status' AND status = 'delivered' GROUP BY repair_order_id),
             c AS (SELECT repair_order_id, MIN("at") AS in_at FROM ro_events
                   WHERE kind = 'status' AND status = 'checked-in' GROUP BY repair_order_id)
        SELECT r.organisation_id, AVG((d.out_at - c.in_at) / 86400e6) AS v, COUNT(*) AS n
        FROM d JOIN c USING (repair_order_id) JOIN repair_orders r ON r.id = d.repair_order_id
        WHERE d.out_at >= {lo} AND d.out_at < {hi} AND c.in_at <= d.out_at AND r.status <> 'cancelled'
        GROUP BY r.organisation_id"""

    def sla(lo, hi, done, breached):
        return f"""
        SELECT organisation_id, 100.0 * SUM(CASE WHEN {breached} IS NULL THEN 1 ELSE 0 END) / COUNT(*) AS v,
               COUNT(*) AS n
        FROM cases WHERE created_at >= {lo} AND created_at < {hi}
             AND ({breached} IS NOT NULL OR {done} IS NOT NULL)
        GROUP BY organisation_id"""

    def ftfr(lo, hi, by_month):
        month = ", strftime(make_timestamp(CAST(f AS BIGINT)), '%Y-%m') AS m" if by_month else ""
        group = ", m" if by_month else ""
        return f"""
        WITH st AS (SELECT repair_order_id, status, MIN("at") AS at FROM ro_events
                    WHERE kind = 'status' AND status IN ('delivered', 'closed') GROUP BY 1, 2),
             fin AS (SELECT r.id, r.organisation_id, r.vehicle_id, COALESCE(d.at, c.at) AS f
                     FROM repair_orders r
                     LEFT JOIN st d ON d.repair_order_id = r.id AND d.status = 'delivered'
                     LEFT JOIN st c ON c.repair_order_id = r.id AND c.status = 'closed'
                     WHERE r.status <> 'cancelled'),
             inp AS (SELECT * FROM fin WHERE f >= {lo} AND f < {hi} AND f // 86400000000 + 31 <= {today}),
             concerns AS (SELECT j.repair_order_id,
                                 COALESCE('op:' || l.code, 'title:' || lower(trim(j.title))) AS concern
                          FROM ro_jobs j LEFT JOIN ro_lines l
                               ON l.job_id = j.id AND l.kind = 'labour' AND l.code IS NOT NULL),
             back AS (SELECT DISTINCT i.id FROM inp i
                      JOIN repair_orders o ON o.vehicle_id = i.vehicle_id AND o.id <> i.id
                           AND o.status <> 'cancelled' AND o.created_at > i.f
                           AND o.created_at <= i.f + 30 * 86400000000
                      JOIN concerns ci ON ci.repair_order_id = i.id
                      JOIN concerns co ON co.repair_order_id = o.id AND co.concern = ci.concern)
        SELECT organisation_id{month}, 100.0 * SUM(CASE WHEN b.id IS NULL THEN 1 ELSE 0 END) / COUNT(*) AS v,
               COUNT(*) AS n
        FROM inp LEFT JOIN back b USING (id) GROUP BY organisation_id{group}"""

    def on_time(lo, hi):
        return f"""
        SELECT organisation_id,
               100.0 * SUM(CASE WHEN arrived_at >= window_from AND arrived_at <= window_to THEN 1 ELSE 0 END)
                     / COUNT(*) AS v, COUNT(*) AS n
        FROM transport_jobs WHERE status <> 'cancelled' AND arrived_at IS NOT NULL
             AND window_from >= {lo} AND window_from < {hi}
        GROUP BY organisation_id"""

    def dashboard(lo, hi):
        return [
            csat(lo, hi),
            nps(lo, hi),
            turnaround(lo, hi),
            sla(lo, hi, "first_responded_at", "first_response_breached_at"),
            sla(lo, hi, "resolved_at", "resolution_breached_at"),
            ftfr(lo, hi, False),
            on_time(lo, hi),
        ]

    def timed(sqls):
        all_ms = []
        for _ in range(max(runs, 1)):
            t = time.perf_counter()
            for s in sqls:
                con.execute(s).fetchall()
            all_ms.append((time.perf_counter() - t) * 1000.0)
        return statistics.median(all_ms)

    rows = {
        "csat": timed([csat(lo, hi)]),
        "turnaround": timed([turnaround(lo, hi)]),
        "nps": timed([nps(lo, hi)]),
        "three": timed([csat(lo, hi), turnaround(lo, hi), nps(lo, hi)]),
        "dashboard": timed(dashboard(lo, hi)),
        "dashboard-year": timed(dashboard(ylo, yhi)),
        "ftfr-year": timed([ftfr(ylo, yhi, True)]),
    }
    print(json.dumps({"duckdb": duckdb.__version__, "load_s": load, "rows": rows}))


if __name__ == "__main__":
    main()
