"""Where the floor of a small Flight SQL query is: the same query through
clients that make fewer or cheaper calls, interleaved round-robin in one
process against the same server(s), so load on a shared box hits all alike.

  adbc new cursor     dbapi: cursor(), execute, fetch_arrow_table, close
                      (4 RPCs: create prepared, GetFlightInfo, DoGet, close
                      prepared; the Go driver forces runtime.GC() on the
                      stream's and the statement's release)
  adbc kept cursor    dbapi, one cursor reused (2 RPCs, 1 forced GC)
  adbc no prepare     ADBC statement API without prepare (2 RPCs, 2 GCs)
  flight 4 RPCs       pyarrow.flight, the prepared flow ADBC's dbapi makes
  flight 2 RPCs       pyarrow.flight, GetFlightInfo(CommandStatementQuery) +
                      DoGet: the least a Flight SQL query can cost

With several URIs (e.g. two servers built differently) every client runs on
each, interleaved, so a server change is measured side by side.

    bin/lakectl serve --data $TMPDIR/finlake-flightbench/rows-1600000 --listen 127.0.0.1:32791 --http off &
    .venv/bin/python bench/flight_client_floor.py grpc://127.0.0.1:32791 [grpc://... more] [--sql "..."] [--runs 200]
"""

import argparse
import statistics
import time
import warnings

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow
import pyarrow.flight as fl

SQL_NS = "type.googleapis.com/arrow.flight.protocol.sql."


# Flight SQL's commands are small protobufs; pyarrow ships no Flight SQL
# bindings, so they are encoded here by hand (fields are all strings/bytes).
def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, data):
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _any(name, msg):
    return _field(1, (SQL_NS + name).encode()) + _field(2, msg)


def _read_varint(buf, i):
    n, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def _fields(buf):
    """Top-level length-delimited fields of a protobuf message."""
    i, out = 0, {}
    while i < len(buf):
        key, i = _read_varint(buf, i)
        n, i = _read_varint(buf, i)
        out[key >> 3] = buf[i : i + n]
        i += n
    return out


def flight_2rpc(client, sql):
    desc = fl.FlightDescriptor.for_command(_any("CommandStatementQuery", _field(1, sql.encode())))
    info = client.get_flight_info(desc)
    return client.do_get(info.endpoints[0].ticket).read_all()


def flight_4rpc(client, sql):
    req = _any("ActionCreatePreparedStatementRequest", _field(1, sql.encode()))
    res = next(iter(client.do_action(fl.Action("CreatePreparedStatement", req))))
    handle = _fields(_fields(res.body.to_pybytes())[2])[1]  # Any.value -> result.handle
    desc = fl.FlightDescriptor.for_command(_any("CommandPreparedStatementQuery", _field(1, handle)))
    info = client.get_flight_info(desc)
    tbl = client.do_get(info.endpoints[0].ticket).read_all()
    close = _any("ActionClosePreparedStatementRequest", _field(1, handle))
    for _ in client.do_action(fl.Action("ClosePreparedStatement", close)):
        pass
    return tbl


def task_cpu_ns(pid):
    """CPU time of every thread of pid so far (schedstat: ns, not ticks)."""
    import os

    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that just ended
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("uris", nargs="+")
    ap.add_argument("--sql", default="SELECT count(*) FROM lake.transactions")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--server-pid", type=int, action="append", default=[],
                    help="the server's pid, one per URI: adds CPU per query of client and server, each case run as a block")
    a = ap.parse_args()
    warnings.simplefilter("ignore")

    cases = []
    for uri in a.uris:
        conn = flightsql.connect(uri)
        kept = conn.cursor()
        client = fl.connect(uri)

        def adbc_new(conn=conn):
            cur = conn.cursor()
            cur.execute(a.sql)
            t = cur.fetch_arrow_table()
            cur.close()
            return t

        def adbc_kept(kept=kept):
            kept.execute(a.sql)
            return kept.fetch_arrow_table()

        def adbc_noprep(conn=conn):
            st = adbc_driver_manager.AdbcStatement(conn.adbc_connection)
            st.set_sql_query(a.sql)
            stream, _ = st.execute_query()
            t = pyarrow.RecordBatchReader._import_from_c(stream.address).read_all()
            st.close()
            return t

        for name, fn in [
            ("adbc new cursor", adbc_new),
            ("adbc kept cursor", adbc_kept),
            ("adbc no prepare", adbc_noprep),
            ("flight 4 RPCs", lambda c=client: flight_4rpc(c, a.sql)),
            ("flight 2 RPCs", lambda c=client: flight_2rpc(c, a.sql)),
        ]:
            cases.append((uri, name, fn, []))

    want = cases[0][2]().to_pylist()
    for _, name, fn, _ in cases:
        got = fn().to_pylist()
        assert got == want, f"{name}: {got} != {want}"
    for i in range(a.runs):
        for _, _, fn, times in cases:
            t0 = time.perf_counter()
            fn()
            if i >= a.warm:
                times.append(time.perf_counter() - t0)

    print(f"{a.sql}  (median / p10 / p90 of {a.runs - a.warm}, round-robin)")
    for uri, name, _, times in cases:
        q = statistics.quantiles(times, n=10)
        print(f"  {uri:26s} {name:17s} {statistics.median(times) * 1000:7.2f}  {q[0] * 1000:6.2f}  {q[-1] * 1000:6.2f} ms")
    if a.server_pid:
        pids = dict(zip(a.uris, a.server_pid))
        n = a.runs - a.warm
        print(f"CPU per query, each case a block of {n} (client: this process incl. the Go driver; server: all its threads)")
        for uri, name, fn, _ in cases:
            c0, s0, w0 = time.process_time(), task_cpu_ns(pids[uri]), time.perf_counter()
            for _ in range(n):
                fn()
            c1, s1, w1 = time.process_time(), task_cpu_ns(pids[uri]), time.perf_counter()
            print(f"  {uri:26s} {name:17s} wall {(w1 - w0) / n * 1000:6.2f}  client {(c1 - c0) / n * 1000:6.2f}  server {(s1 - s0) / n / 1e6:6.2f} ms")


if __name__ == "__main__":
    main()
