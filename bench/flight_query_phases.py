"""Where a small query's time goes in the Python ADBC client: cursor(),
execute (create prepared statement + flight info), fetch_arrow_table (DoGet)
and close (close prepared statement, and the driver's forced Go GC), and the
same query on one kept cursor. Against a running lakectl serve:

    bin/lakectl serve --data $TMPDIR/finlake-flightbench/rows-1600000 --listen 127.0.0.1:32791 --http off &
    .venv/bin/python bench/flight_query_phases.py grpc://127.0.0.1:32791 "SELECT count(*) FROM lake.transactions"
"""

import statistics
import sys
import time
import warnings

import adbc_driver_flightsql.dbapi as flightsql

uri = sys.argv[1]
sql = sys.argv[2] if len(sys.argv) > 2 else "SELECT count(*) FROM lake.transactions"
runs, warm = 60, 10
warnings.simplefilter("ignore")

with flightsql.connect(uri) as conn:
    phases = {k: [] for k in ["cursor()", "execute", "fetch_arrow_table", "close", "total, fresh cursor", "total, kept cursor"]}
    for i in range(runs):
        t0 = time.perf_counter()
        cur = conn.cursor()
        t1 = time.perf_counter()
        cur.execute(sql)
        t2 = time.perf_counter()
        cur.fetch_arrow_table()
        t3 = time.perf_counter()
        cur.close()
        t4 = time.perf_counter()
        if i >= warm:
            for k, v in zip(list(phases)[:5], [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0]):
                phases[k].append(v)
    with conn.cursor() as cur:
        for i in range(runs):
            t0 = time.perf_counter()
            cur.execute(sql)
            cur.fetch_arrow_table()
            if i >= warm:
                phases["total, kept cursor"].append(time.perf_counter() - t0)
    print(f"{sql}  (median of {runs - warm})")
    for k, v in phases.items():
        print(f"  {k:22s} {statistics.median(v) * 1000:7.2f} ms")
