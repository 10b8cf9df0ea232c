"""lakectl serve beside DuckDB reading the same Parquet files directly, both
into pyarrow in this one process, as a notebook would: a full scan, a GROUP
BY, count(*) and a point lookup (on a table with thousands of snapshots, so a
large metadata.json). Same DuckDB version (duckdb 1.5.x), same threads; the
measurements alternate between the two sides. Called by cmd/flightbench.

usage: flight_pyarrow_scan.py grpc://HOST:PORT EXPECTED_ROWS SETUP_JSON

SETUP_JSON: {"threads": N, "reps": N, "files": [transactions' data files],
"lookup_table": name, "lookup_files": [...], "lookup_id": transaction_id}.
Without the duckdb module only the Flight SQL side is measured.
"""

import json
import os
import statistics
import sys
import time

import adbc_driver_flightsql.dbapi as flightsql

try:
    import duckdb
except ImportError:  # pip install 'duckdb>=1.5,<1.6'
    duckdb = None

uri, expected = sys.argv[1], int(sys.argv[2])
setup = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else {}
reps = int(setup.get("reps", 3))

AGG = """SELECT merchant_category, currency, count(*) AS n, sum(amount_usd) AS usd, avg(amount) AS avg_amount
FROM {} WHERE status = 'completed' GROUP BY ALL ORDER BY ALL"""


def parquet(files):
    return "read_parquet([{}], hive_partitioning=false)".format(",".join("'" + f.replace("'", "''") + "'" for f in files))


def flight_scan(conn, sql):
    start = time.perf_counter()
    rows, nbytes, first = 0, 0, None
    with conn.cursor() as cur:
        cur.execute(sql)
        for batch in cur.fetch_record_batch():
            if first is None:
                first = time.perf_counter() - start
            rows += batch.num_rows
            nbytes += batch.nbytes
    return time.perf_counter() - start, rows, nbytes, first


def direct_scan(db, sql):
    start = time.perf_counter()
    rows, nbytes, first = 0, 0, None
    for batch in db.execute(sql).to_arrow_reader():
        if first is None:
            first = time.perf_counter() - start
        rows += batch.num_rows
        nbytes += batch.nbytes
    return time.perf_counter() - start, rows, nbytes, first


def direct_materialized(db, sql):
    start = time.perf_counter()
    t = db.execute(sql).to_arrow_table()
    return time.perf_counter() - start, t.num_rows


def flight_table(conn, sql):
    start = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(sql)
        t = cur.fetch_arrow_table()
    return time.perf_counter() - start, t


KEPT = {}


def flight_reused(conn, sql):
    """One cursor per query text, kept open: ADBC's Python driver then skips
    creating and closing the prepared statement (two RPCs) and the forced Go
    GC its driver runs on every statement release."""
    cur = KEPT.get(sql)
    if cur is None:
        cur = KEPT[sql] = conn.cursor()
    start = time.perf_counter()
    cur.execute(sql)
    t = cur.fetch_arrow_table()
    return time.perf_counter() - start, t


def direct_table(db, sql):
    start = time.perf_counter()
    t = db.execute(sql).to_arrow_table()
    return time.perf_counter() - start, t


SERVER_PID = setup.get("server_pid")
TICK = os.sysconf("SC_CLK_TCK")


def server_cpu():
    """CPU seconds the server process has used (0 without its pid)."""
    if not SERVER_PID:
        return 0.0
    with open(f"/proc/{SERVER_PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def cpu():
    """CPU seconds of this process and the server together: on a busy machine
    wall times inflate, CPU times much less."""
    return time.process_time() + server_cpu()


SERVER_SHARE = {}


def timed(fn, *args):
    c0, s0 = cpu(), server_cpu()
    out = fn(*args)
    SERVER_SHARE.setdefault(fn.__name__, []).append(server_cpu() - s0)
    return out, cpu() - c0


def ms(s):
    return s * 1000


with flightsql.connect(uri) as conn:
    db = None
    if duckdb is not None and setup.get("files"):
        db = duckdb.connect(config={"threads": int(setup["threads"]), "preserve_insertion_order": False})
    lookup = setup.get("lookup_table")
    point_flight = f"SELECT * FROM lake.{lookup} WHERE transaction_id = '{setup.get('lookup_id')}'"
    count_heavy = f"SELECT count(*) FROM lake.{lookup}"
    minmax = "SELECT min(timestamp) AS lo, max(timestamp) AS hi FROM {}"
    res = {k: [] for k in ["scan_f", "scan_d", "scan_dt", "first_f", "first_d", "agg_f", "agg_d", "count_f", "count_d",
                           "countheavy_f", "point_f", "point_d",
                           "count_fr", "point_fr", "minmax_f", "minmax_fr", "minmax_d",
                           "scan_f_cpu", "scan_d_cpu", "scan_dt_cpu", "agg_f_cpu", "agg_d_cpu"]}
    nbytes = 0
    for i in range(reps + 1):  # round 0 warms caches and is dropped
        (t, rows, nbytes, first), c = timed(flight_scan, conn, "SELECT * FROM lake.transactions")
        if i > 0:
            res["scan_f_cpu"].append(c)
        if rows != expected:
            sys.exit(f"pyarrow scan returned {rows} rows, want {expected}")
        keep = i > 0
        if keep:
            res["scan_f"].append(t), res["first_f"].append(first)
        if db:
            (t, rows, _, first), c = timed(direct_scan, db, "SELECT * FROM " + parquet(setup["files"]))
            if i > 0:
                res["scan_d_cpu"].append(c)
            if rows != expected:
                sys.exit(f"direct scan returned {rows} rows, want {expected}")
            if keep:
                res["scan_d"].append(t), res["first_d"].append(first)
            (t, rows), c = timed(direct_materialized, db, "SELECT * FROM " + parquet(setup["files"]))
            if i > 0:
                res["scan_dt_cpu"].append(c)
            if keep:
                res["scan_dt"].append(t)
        (t, fa), c = timed(flight_table, conn, AGG.format("lake.transactions"))
        if i > 0:
            res["agg_f_cpu"].append(c)
        if keep:
            res["agg_f"].append(t)
        if db:
            (t, da), c = timed(direct_table, db, AGG.format(parquet(setup["files"])))
            if i > 0:
                res["agg_d_cpu"].append(c)
            if keep:
                res["agg_d"].append(t)
            if fa.num_rows != da.num_rows:
                sys.exit(f"GROUP BY: {fa.num_rows} rows through Flight SQL, {da.num_rows} directly")
        for _ in range(5):
            t, ct = flight_table(conn, "SELECT count(*) FROM lake.transactions")
            if ct.column(0)[0].as_py() != expected:
                sys.exit(f"count(*) = {ct.column(0)[0]}, want {expected}")
            if keep:
                res["count_f"].append(t)
            t, _ = flight_reused(conn, "SELECT count(*) FROM lake.transactions")
            if keep:
                res["count_fr"].append(t)
            if db:
                t, _ = direct_table(db, "SELECT count(*) FROM " + parquet(setup["files"]))
                if keep:
                    res["count_d"].append(t)
            t, mf = flight_table(conn, minmax.format("lake.transactions"))
            if keep:
                res["minmax_f"].append(t)
            t, _ = flight_reused(conn, minmax.format("lake.transactions"))
            if keep:
                res["minmax_fr"].append(t)
            if db:
                t, md = direct_table(db, minmax.format(parquet(setup["files"])))
                if keep:
                    res["minmax_d"].append(t)
                if mf.to_pylist() != md.to_pylist():
                    sys.exit(f"min/max: {mf.to_pylist()} through Flight SQL, {md.to_pylist()} directly")
            if lookup:
                t, _ = flight_table(conn, count_heavy)
                if keep:
                    res["countheavy_f"].append(t)
                t, pt = flight_table(conn, point_flight)
                if pt.num_rows != 1:
                    sys.exit(f"point lookup found {pt.num_rows} rows, want 1")
                if keep:
                    res["point_f"].append(t)
                t, _ = flight_reused(conn, point_flight)
                if keep:
                    res["point_fr"].append(t)
                if db:
                    t, _ = direct_table(db, f"SELECT * FROM {parquet(setup['lookup_files'])} WHERE transaction_id = '{setup['lookup_id']}'")
                    if keep:
                        res["point_d"].append(t)

med = {k: statistics.median(v) if v else None for k, v in res.items()}
# DuckDB's faster way into pyarrow is the baseline: a stream of batches
# (to_arrow_reader) or the whole table at once (to_arrow_table, parallel).
stream_d = med["scan_d"]
if med["scan_dt"] and med["scan_dt"] < med["scan_d"]:
    med["scan_d"] = med["scan_dt"]
if med["scan_dt_cpu"] and med["scan_dt_cpu"] < med["scan_d_cpu"]:
    med["scan_d_cpu"] = med["scan_dt_cpu"]


def ratio(a, b):
    return f"{med[a] / med[b]:.2f}x" if med[a] and med[b] else "-"


print(f"pyarrow client, {reps} rounds (median), DuckDB {duckdb.__version__ if duckdb else '-'} direct with threads={setup.get('threads')}:")
print(f"{'':34s} {'Flight SQL':>12s} {'DuckDB direct':>14s} {'ratio':>7s}")
s_f, s_d = med["scan_f"], med["scan_d"]
print(f"{'full scan (ms)':34s} {ms(s_f):12.1f} {ms(s_d) if s_d else float('nan'):14.1f} {ratio('scan_f', 'scan_d'):>7s}"
      f"   {expected / s_f / 1e6:.2f} vs {expected / s_d / 1e6 if s_d else float('nan'):.2f} M rows/s, {nbytes / s_f / 1e6:.0f} MB/s")
if stream_d:
    print(f"{'  DuckDB stream / table (ms)':34s} {'':12s} {ms(stream_d):7.1f} / {ms(med['scan_dt']):.1f}")
print(f"{'  first batch (ms)':34s} {ms(med['first_f']):12.1f} {ms(med['first_d']) if med['first_d'] else float('nan'):14.1f}   (DuckDB: stream)")
print(f"{'GROUP BY (ms)':34s} {ms(med['agg_f']):12.1f} {ms(med['agg_d']) if med['agg_d'] else float('nan'):14.1f} {ratio('agg_f', 'agg_d'):>7s}")
print(f"{'count(*) (ms)':34s} {ms(med['count_f']):12.2f} {ms(med['count_d']) if med['count_d'] else float('nan'):14.2f} {ratio('count_f', 'count_d'):>7s}")
print(f"{'  same cursor kept (ms)':34s} {ms(med['count_fr']):12.2f}")
print(f"{'min/max(timestamp) (ms)':34s} {ms(med['minmax_f']):12.2f} {ms(med['minmax_d']) if med['minmax_d'] else float('nan'):14.2f} {ratio('minmax_f', 'minmax_d'):>7s}")
print(f"{'  same cursor kept (ms)':34s} {ms(med['minmax_fr']):12.2f}")
if lookup:
    print(f"{'count(*), ' + lookup + ' (ms)':34s} {ms(med['countheavy_f']):12.2f}")
    print(f"{'point lookup, ' + lookup + ' (ms)':34s} {ms(med['point_f']):12.2f} {ms(med['point_d']) if med['point_d'] else float('nan'):14.2f} {ratio('point_f', 'point_d'):>7s}")
    print(f"{'  same cursor kept (ms)':34s} {ms(med['point_fr']):12.2f}")
if SERVER_PID and med["scan_d_cpu"]:
    print(f"{'CPU, server + client (ms):':34s}")
    print(f"{'  full scan':34s} {ms(med['scan_f_cpu']):12.1f} {ms(med['scan_d_cpu']):14.1f} {ratio('scan_f_cpu', 'scan_d_cpu'):>7s}")
    print(f"{'  GROUP BY':34s} {ms(med['agg_f_cpu']):12.1f} {ms(med['agg_d_cpu']):14.1f} {ratio('agg_f_cpu', 'agg_d_cpu'):>7s}")
    print(f"  (server's share, median: scan {ms(statistics.median(SERVER_SHARE['flight_scan'])):.1f} ms, "
          f"GROUP BY {ms(statistics.median(SERVER_SHARE['flight_table'])):.1f} ms)")
