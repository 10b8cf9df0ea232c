"""Full scan of lake.transactions from lakectl serve into pyarrow, as a notebook
would: rows/s and time to the first batch. Called by cmd/flightbench.

usage: flight_pyarrow_scan.py grpc://HOST:PORT EXPECTED_ROWS
"""

import statistics
import sys
import time

import adbc_driver_flightsql.dbapi as flightsql

uri, expected = sys.argv[1], int(sys.argv[2])
times, firsts = [], []
with flightsql.connect(uri) as conn:
    for i in range(3):
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM lake.transactions")
            reader = cur.fetch_record_batch()
            rows, nbytes, first = 0, 0, None
            for batch in reader:
                if first is None:
                    first = time.perf_counter() - start
                rows += batch.num_rows
                nbytes += batch.nbytes
        elapsed = time.perf_counter() - start
        if rows != expected:
            sys.exit(f"pyarrow scan returned {rows} rows, want {expected}")
        times.append(elapsed)
        firsts.append(first)
t = statistics.median(times)
print(f"full scan into pyarrow (ADBC Py):   {t * 1000:8.1f} ms   {rows / t / 1e6:.2f} M rows/s, {nbytes / t / 1e6:.0f} MB/s, first batch {statistics.median(firsts) * 1000:.1f} ms")
