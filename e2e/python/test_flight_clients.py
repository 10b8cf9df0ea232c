"""Notebook users against `lakectl serve`: ADBC Flight SQL with pandas and polars,
over a lake written by PyIceberg (an Iceberg implementation independent of the
iceberg-go the server resolves snapshots with). Every answer is held against
PyIceberg's own read of the same table, snapshot or instant.

Run: just build && FINLAKE_BIN=bin/lakectl .venv/bin/python -m pytest e2e/python/test_flight_clients.py
(the Go test TestPythonClients in ./flight runs it the same way).
"""

import datetime as dt
import decimal
import os
import subprocess
import time

import adbc_driver_flightsql.dbapi as flightsql
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DecimalType, NestedField, StringType, TimestamptzType

BIN = os.environ.get("FINLAKE_BIN")
pytestmark = pytest.mark.skipif(not BIN, reason="set FINLAKE_BIN to a built lakectl (just build)")

AS_OF = "adbc.flight.sql.rpc.call_header.x-finlake-as-of"

SCHEMA = Schema(
    NestedField(1, "transaction_id", StringType(), required=False),
    NestedField(2, "timestamp", TimestamptzType(), required=False),
    NestedField(3, "account_id", StringType(), required=False),
    NestedField(4, "amount", DecimalType(18, 2), required=False),
    NestedField(5, "currency", StringType(), required=False),
)


def batch(prefix, n, day, extra=None):
    base = dt.datetime(2026, 11, day, 9, 0, tzinfo=dt.timezone.utc)
    cols = {
        "transaction_id": [f"{prefix}-{i:04d}" for i in range(n)],
        "timestamp": [base + dt.timedelta(minutes=7 * i) for i in range(n)],
        "account_id": [f"AC{i % 5:04d}" for i in range(n)],
        "amount": [decimal.Decimal(f"{(i * 37) % 1000 + 1}.{i % 100:02d}") for i in range(n)],
        "currency": [("EUR", "USD", "GBP", "JPY")[i % 4] for i in range(n)],
    }
    fields = [
        pa.field("transaction_id", pa.string()),
        pa.field("timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("account_id", pa.string()),
        pa.field("amount", pa.decimal128(18, 2)),
        pa.field("currency", pa.string()),
    ]
    for name, (typ, values) in (extra or {}).items():
        cols[name] = values
        fields.append(pa.field(name, typ))
    return pa.table(cols, schema=pa.schema(fields))


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """Three snapshots by PyIceberg: two appends, a schema change, an append with the new column."""
    data = tmp_path_factory.mktemp("lake")
    cat = SqlCatalog(
        "finlake",
        uri=f"sqlite:///{data}/catalog.db",
        warehouse=f"file://{data}/warehouse",
    )
    cat.create_namespace("lake")
    # Identity partitioning writes hive-style directories (currency=EUR/) that a
    # naive Parquet reader would turn into an extra column. (PyIceberg's day()
    # writes need the optional pyiceberg-core; the Go tests cover day().)
    spec = PartitionSpec(PartitionField(source_id=5, field_id=1000, transform=IdentityTransform(), name="currency"))
    tbl = cat.create_table("lake.transactions", schema=SCHEMA, partition_spec=spec)
    tbl.append(batch("a", 120, 24))
    time.sleep(0.05)
    tbl.append(batch("b", 80, 25))
    time.sleep(0.05)
    with tbl.update_schema() as upd:
        upd.add_column("channel", StringType(), doc="web, pos or atm")
    tbl = cat.load_table("lake.transactions")
    n = 40
    tbl.append(batch("c", n, 26, {"channel": (pa.string(), [("web", "pos", "atm")[i % 3] for i in range(n)])}))
    cat.create_table("lake.scratch", schema=SCHEMA)
    return data, cat


@pytest.fixture(scope="module")
def server(lake):
    data, _ = lake
    ready = data / "ready"
    proc = subprocess.Popen(
        [BIN, "--data", str(data), "--log-format", "text", "serve", "--listen", "127.0.0.1:0",
         "--http", "127.0.0.1:0", "--ready-file", str(ready), "--threads", "2", "--query-timeout", "30s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.time() + 60
    while not ready.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"lakectl serve exited: {proc.stderr.read()}")
        if time.time() > deadline:
            proc.kill()
            raise RuntimeError("lakectl serve did not become ready in 60 s")
        time.sleep(0.05)
    yield "grpc://" + ready.read_text().strip()
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture()
def conn(server):
    with flightsql.connect(server) as c:
        yield c


def fetch(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetch_arrow_table()


def rows(table, columns=None):
    """Rows as sorted tuples of Python values (aware datetimes compare by instant)."""
    columns = columns or table.column_names
    return sorted(zip(*(table.column(c).to_pylist() for c in columns)))


def test_pandas_sees_what_pyiceberg_reads(conn, lake):
    _, cat = lake
    expected = cat.load_table("lake.transactions").scan().to_arrow()
    with conn.cursor() as cur:
        cur.execute("SELECT * FROM lake.transactions")
        df = cur.fetch_df()
    assert len(df) == expected.num_rows == 240
    assert list(df.columns) == expected.column_names
    got = pa.Table.from_pandas(df, preserve_index=False)
    assert rows(got) == rows(expected)


def test_both_table_names_work(conn):
    assert fetch(conn, "SELECT count(*) AS n FROM transactions")["n"][0].as_py() == \
        fetch(conn, "SELECT count(*) AS n FROM lake.transactions")["n"][0].as_py()


def test_time_travel_by_version_matches_pyiceberg_for_every_snapshot(conn, lake):
    _, cat = lake
    tbl = cat.load_table("lake.transactions")
    snaps = tbl.snapshots()
    assert len(snaps) == 3
    for snap in snaps:
        ours = fetch(conn, f"SELECT * FROM lake.transactions FOR VERSION AS OF {snap.snapshot_id}")
        theirs = tbl.scan(snapshot_id=snap.snapshot_id).to_arrow()
        assert ours.num_rows == theirs.num_rows, snap
        common = [c for c in ours.column_names if c in theirs.column_names]
        assert rows(ours, common) == rows(theirs, common), snap


def test_time_travel_by_timestamp_picks_the_snapshot_current_then(conn, lake):
    _, cat = lake
    tbl = cat.load_table("lake.transactions")
    for snap in tbl.snapshots():
        at = dt.datetime.fromtimestamp(snap.timestamp_ms / 1000, dt.timezone.utc)
        ts = at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "+00"
        n = fetch(conn, f"SELECT count(*) AS n FROM transactions FOR TIMESTAMP AS OF TIMESTAMP '{ts}'")["n"][0].as_py()
        assert n == tbl.scan(snapshot_id=snap.snapshot_id).to_arrow().num_rows


def test_older_snapshots_keep_their_schema(conn, lake):
    _, cat = lake
    first = cat.load_table("lake.transactions").snapshots()[0]
    old = fetch(conn, f"SELECT * FROM transactions FOR VERSION AS OF {first.snapshot_id}")
    assert "channel" not in old.column_names
    assert "channel" in fetch(conn, "SELECT * FROM transactions LIMIT 1").column_names


def test_added_column_reads_null_in_older_files(conn, lake):
    _, cat = lake
    theirs = cat.load_table("lake.transactions").scan(selected_fields=("transaction_id", "channel")).to_arrow()
    ours = fetch(conn, "SELECT transaction_id, channel FROM transactions")
    assert rows(ours) == rows(theirs)
    nulls = fetch(conn, "SELECT count(*) AS n FROM transactions WHERE channel IS NULL")["n"][0].as_py()
    assert nulls == 200


def test_as_of_header_pins_the_whole_query(server, lake):
    _, cat = lake
    tbl = cat.load_table("lake.transactions")
    first = tbl.snapshots()[0]
    with flightsql.connect(server, db_kwargs={AS_OF: str(first.snapshot_id)}) as c:
        assert fetch(c, "SELECT count(*) AS n FROM transactions")["n"][0].as_py() == \
            tbl.scan(snapshot_id=first.snapshot_id).to_arrow().num_rows
    second = tbl.snapshots()[1]
    at = dt.datetime.fromtimestamp(second.timestamp_ms / 1000, dt.timezone.utc).isoformat()
    with flightsql.connect(server, db_kwargs={AS_OF: at}) as c:
        assert fetch(c, "SELECT count(*) AS n FROM lake.transactions")["n"][0].as_py() == \
            tbl.scan(snapshot_id=second.snapshot_id).to_arrow().num_rows


def test_parameters_bind(conn, lake):
    _, cat = lake
    data = cat.load_table("lake.transactions").scan().to_arrow()
    want = pc.sum(pc.equal(data["currency"], "EUR")).as_py()
    got = fetch(conn, "SELECT count(*) AS n FROM transactions WHERE currency = ?", ("EUR",))["n"][0].as_py()
    assert got == want
    want = pc.sum(pc.and_(pc.equal(data["account_id"], "AC0003"), pc.greater(data["amount"], pa.scalar(decimal.Decimal("500.00"))))).as_py()
    got = fetch(conn, "SELECT count(*) AS n FROM transactions WHERE account_id = $1 AND amount > $2",
                ("AC0003", 500))["n"][0].as_py()
    assert got == want


def test_polars_read_database(conn, lake):
    pl = pytest.importorskip("polars")
    _, cat = lake
    data = cat.load_table("lake.transactions").scan().to_arrow()
    df = pl.read_database("SELECT currency, sum(amount) AS total, count(*) AS n FROM lake.transactions GROUP BY currency ORDER BY currency",
                          connection=conn)
    want = data.group_by("currency").aggregate([("amount", "sum"), ("amount", "count")]).sort_by("currency")
    assert df["currency"].to_list() == want["currency"].to_pylist()
    assert df["n"].to_list() == want["amount_count"].to_pylist()
    assert [decimal.Decimal(str(v)) for v in df["total"].to_list()] == want["amount_sum"].to_pylist()


def test_get_objects_and_table_schema(conn, lake):
    _, cat = lake
    objs = conn.adbc_get_objects(depth="all").read_all().to_pylist()
    tables = {
        (c["catalog_name"], s["db_schema_name"], t["table_name"]): [col["column_name"] for col in t["table_columns"]]
        for c in objs for s in c["catalog_db_schemas"] for t in s["db_schema_tables"]
    }
    iceberg_cols = [f.name for f in cat.load_table("lake.transactions").schema().fields]
    assert tables[("finlake", "lake", "transactions")] == iceberg_cols
    assert ("finlake", "lake", "scratch") in tables
    schema = conn.adbc_get_table_schema("transactions", db_schema_filter="lake")
    assert schema.names == iceberg_cols
    assert schema.field("amount").type == pa.decimal128(18, 2)
    assert pa.types.is_timestamp(schema.field("timestamp").type) and schema.field("timestamp").type.tz


def test_metadata_tables_agree_with_pyiceberg(conn, lake):
    _, cat = lake
    tbl = cat.load_table("lake.transactions")
    snaps = fetch(conn, 'SELECT snapshot_id, parent_id, operation FROM "transactions$snapshots" ORDER BY committed_at')
    assert snaps["snapshot_id"].to_pylist() == [s.snapshot_id for s in tbl.snapshots()]
    assert snaps["parent_id"].to_pylist() == [s.parent_snapshot_id for s in tbl.snapshots()]
    hist = fetch(conn, 'SELECT snapshot_id FROM lake."transactions$history" ORDER BY made_current_at')
    assert hist["snapshot_id"].to_pylist() == [h.snapshot_id for h in tbl.history()]
    files = fetch(conn, 'SELECT file_path, record_count FROM "transactions$files"')
    theirs = tbl.inspect.files()
    assert sorted(p.removeprefix("file://") for p in theirs["file_path"].to_pylist()) == sorted(files["file_path"].to_pylist())
    assert pc.sum(files["record_count"]).as_py() == 240


def test_empty_table_has_columns(conn):
    t = fetch(conn, "SELECT * FROM lake.scratch")
    assert t.num_rows == 0
    assert t.column_names == [f.name for f in SCHEMA.fields]


def test_hostile_queries_are_refused_and_the_server_keeps_answering(conn):
    for sql in ("SELECT * FROM read_csv('/etc/passwd')",
                "COPY (SELECT 1) TO '/tmp/finlake-pwned.csv'",
                "INSTALL httpfs",
                "SELECT 1; SELECT 2",
                "ATTACH ':memory:' AS x"):
        with pytest.raises(flightsql.Error) as exc:
            fetch(conn, sql)
        assert "root:x:0" not in str(exc.value)
    assert not os.path.exists("/tmp/finlake-pwned.csv")
    assert fetch(conn, "SELECT 41 + 1 AS x")["x"][0].as_py() == 42


def test_admin_add_column_from_loopback_is_seen_by_pyiceberg(conn, lake):
    _, cat = lake
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE lake.scratch ADD COLUMN risk_score DECIMAL(5,2) COMMENT 'model score'")
        cur.fetchall()
    field = cat.load_table("lake.scratch").schema().find_field("risk_score")
    assert field.field_type == DecimalType(5, 2) and field.doc == "model score" and not field.required
    assert "risk_score" in fetch(conn, "SELECT * FROM lake.scratch").column_names
