"""Spark reads finlake's lake through Iceberg's own JdbcCatalog, on the same catalog
database finlake writes (SQLite, or PostgreSQL), and every answer is held against
`lakectl serve`'s over the same lake: counts, time travel by snapshot id and by
timestamp, the evolved column, and the snapshots, files and history metadata tables.

The lake is built by the Go test TestSparkReadsTheLakeAsTheFlightServerAnswers
(ingest), which starts the server and runs this file with:
  FINLAKE_INTEROP_DATA         the data directory (warehouse/, and catalog.db on SQLite)
  FINLAKE_INTEROP_CATALOG_URI  the postgres:// catalog URI, empty for SQLite
  FINLAKE_FLIGHT               grpc://host:port of `lakectl serve` over that lake
Run it that way: FINLAKE_BIN=bin/lakectl go test -tags duckdb_arrow -run Spark ./ingest
(FINLAKE_TEST_CATALOG=postgres for PostgreSQL; `just test-interop` runs both).

The Spark configuration is the README's ("Spark"), built by spark_conf below.
"""

import datetime as dt
import os
import urllib.parse

import adbc_driver_flightsql.dbapi as flightsql
import pytest

DATA = os.environ.get("FINLAKE_INTEROP_DATA")
pytestmark = pytest.mark.skipif(
    not DATA,
    reason="needs the lake built by the Go test TestSparkReadsTheLakeAsTheFlightServerAnswers "
    "(go test -tags duckdb_arrow -run Spark ./ingest runs this file)",
)

# Spark 4.1 (PySpark from PyPI) and the Iceberg runtime built for it; the JDBC
# drivers of the two catalog databases finlake supports.
PACKAGES = ",".join([
    "org.apache.iceberg:iceberg-spark-runtime-4.1_2.13:1.12.0",
    "org.xerial:sqlite-jdbc:3.51.1.0",
    "org.postgresql:postgresql:42.7.14",
])


def jdbc_catalog(data, catalog_uri):
    """Iceberg JdbcCatalog properties for finlake's catalog: its JDBC URL and user."""
    if not catalog_uri:
        return {"uri": f"jdbc:sqlite:{os.path.abspath(data)}/catalog.db"}
    u = urllib.parse.urlsplit(catalog_uri)
    props = {"uri": f"jdbc:postgresql://{u.hostname}:{u.port or 5432}{u.path}"}
    if u.query:
        props["uri"] += "?" + u.query
    if u.username:
        props["jdbc.user"] = urllib.parse.unquote(u.username)
    if u.password:
        props["jdbc.password"] = urllib.parse.unquote(u.password)
    return props


def spark_conf(data, catalog_uri):
    """The Spark configuration a user passes as --packages and --conf."""
    conf = {
        "spark.jars.packages": PACKAGES,
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        # The Spark catalog's name is the Iceberg catalog's: JdbcCatalog reads the rows
        # whose catalog_name is "finlake".
        "spark.sql.catalog.finlake": "org.apache.iceberg.spark.SparkCatalog",
        "spark.sql.catalog.finlake.type": "jdbc",
        "spark.sql.catalog.finlake.warehouse": f"file://{os.path.abspath(data)}/warehouse",
        # iceberg-go created iceberg_tables with the iceberg_type column (JdbcCatalog's V1).
        "spark.sql.catalog.finlake.jdbc.schema-version": "V1",
        "spark.sql.session.timeZone": "UTC",
    }
    for k, v in jdbc_catalog(data, catalog_uri).items():
        conf[f"spark.sql.catalog.finlake.{k}"] = v
    return conf


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    b = (SparkSession.builder.master("local[2]").appName("finlake-spark-interop")
         .config("spark.ui.enabled", "false").config("spark.driver.memory", "1g")
         .config("spark.sql.shuffle.partitions", "2")
         # Test speed only, not part of the README's configuration: tiny queries spend their time
         # compiling, so the JIT's quick tier and no whole-stage code generation.
         .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
         .config("spark.sql.codegen.wholeStage", "false"))
    for k, v in spark_conf(DATA, os.environ.get("FINLAKE_INTEROP_CATALOG_URI", "")).items():
        b = b.config(k, v)
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def flight():
    with flightsql.connect(os.environ["FINLAKE_FLIGHT"]) as c:
        yield c


def fq(conn, sql):
    """The Flight SQL server's answer as a list of tuples."""
    with conn.cursor() as cur:
        cur.execute(sql)
        return [tuple(r) for r in cur.fetchall()]


def sq(spark, sql):
    return [tuple(r) for r in spark.sql(sql).collect()]


T = "finlake.lake.transactions"


@pytest.fixture(scope="module")
def snapshots(flight):
    """(snapshot_id, committed_at ms) of lake.transactions, oldest first, as the server lists them."""
    return fq(flight, 'SELECT snapshot_id, epoch_ms(committed_at) FROM "transactions$snapshots" ORDER BY committed_at')


def test_jdbc_catalog_reads_the_catalog_table_finlake_writes(spark):
    props = jdbc_catalog(DATA, os.environ.get("FINLAKE_INTEROP_CATALOG_URI", ""))
    driver = "org.postgresql.Driver" if props["uri"].startswith("jdbc:postgresql:") else "org.sqlite.JDBC"
    opts = {"url": props["uri"], "dbtable": "iceberg_tables", "driver": driver}
    if "jdbc.user" in props:
        opts["user"] = props["jdbc.user"]
    rows = spark.read.format("jdbc").options(**opts).load()
    assert {"catalog_name", "table_namespace", "table_name", "metadata_location",
            "previous_metadata_location", "iceberg_type"} <= set(rows.columns)
    got = {(r.catalog_name, r.table_namespace, r.table_name) for r in rows.collect()}
    assert {("finlake", "lake", t) for t in ("transactions", "alerts", "pipeline_runs")} <= got
    assert {r[0] for r in spark.sql("SHOW TABLES IN finlake.lake").select("tableName").collect()} >= {
        "transactions", "alerts", "pipeline_runs"}


def test_counts_and_sums_per_day_match_the_server(spark, flight):
    s = sq(spark, f"SELECT partition_date, count(*), sum(amount) FROM {T} GROUP BY 1 ORDER BY 1")
    f = fq(flight, "SELECT partition_date, count(*), sum(amount) FROM lake.transactions GROUP BY 1 ORDER BY 1")
    assert len(s) == 3 and s == f
    for table in ("transactions", "alerts", "pipeline_runs"):
        assert sq(spark, f"SELECT count(*) FROM finlake.lake.{table}") == fq(flight, f"SELECT count(*) FROM lake.{table}")


def test_every_snapshot_by_id_has_the_servers_rows(spark, flight, snapshots):
    assert len(snapshots) >= 3
    for sid, _ in snapshots:
        s = sq(spark, f"SELECT count(*), sum(amount) FROM {T} VERSION AS OF {sid}")
        f = fq(flight, f"SELECT count(*), sum(amount) FROM lake.transactions FOR VERSION AS OF {sid}")
        assert s == f, sid


def ms_literal(ms):
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def kept_pairs(snapshots):
    """An instant between each two kept snapshots, with the older one's id."""
    return [(sid, at + (nxt - at) // 2) for (sid, at), (_, nxt) in zip(snapshots, snapshots[1:]) if nxt - at >= 2]


def test_timestamp_travel_within_the_snapshot_log_answers_as_the_server(spark, flight, snapshots):
    log_start = sq(spark, f"SELECT min(unix_millis(made_current_at)) FROM {T}.history")[0][0]
    within = [(sid, mid) for sid, mid in kept_pairs(snapshots) if mid >= log_start]
    assert within
    for sid, mid in within:
        ts = ms_literal(mid)
        s = sq(spark, f"SELECT count(*) FROM {T} TIMESTAMP AS OF '{ts}'")  # session time zone UTC
        f = fq(flight, f"SELECT count(*) FROM lake.transactions FOR TIMESTAMP AS OF TIMESTAMP '{ts}+00'")
        assert s == f == sq(spark, f"SELECT count(*) FROM {T} VERSION AS OF {sid}"), (sid, ts)


def test_timestamp_travel_before_the_snapshot_log_fails_in_spark_and_the_tag_answers(spark, flight, snapshots):
    # Expiry truncates the snapshot log (metadata.json's snapshot-log) to the entries after the newest
    # expired snapshot; Spark resolves TIMESTAMP AS OF from that log, the server from the kept
    # snapshots themselves. A snapshot kept by interval stays reachable in Spark by id and by its tag.
    from pyspark.errors import PySparkException
    from py4j.protocol import Py4JJavaError

    log_start = sq(spark, f"SELECT min(unix_millis(made_current_at)) FROM {T}.history")[0][0]
    before = [(sid, mid) for sid, mid in kept_pairs(snapshots) if mid < log_start]
    assert before, "the expiry left the snapshot log reaching every kept snapshot: nothing to test"
    tags = dict(sq(spark, f"SELECT snapshot_id, name FROM {T}.refs WHERE type = 'TAG'"))
    for sid, mid in before:
        ts = ms_literal(mid)
        with pytest.raises((PySparkException, Py4JJavaError), match="Cannot find a snapshot older than"):
            spark.sql(f"SELECT count(*) FROM {T} TIMESTAMP AS OF '{ts}'").collect()
        f = fq(flight, f"SELECT count(*) FROM lake.transactions FOR TIMESTAMP AS OF TIMESTAMP '{ts}+00'")
        assert f == sq(spark, f"SELECT count(*) FROM {T} VERSION AS OF {sid}"), (sid, ts)
        assert f == sq(spark, f"SELECT count(*) FROM {T} VERSION AS OF '{tags[sid]}'"), (sid, tags.get(sid))


def test_the_evolved_column_reads_as_the_server_reads_it(spark, flight, snapshots):
    s = sq(spark, f"SELECT count(risk_score), sum(risk_score), count(*) - count(risk_score) FROM {T}")
    f = fq(flight, "SELECT count(risk_score), sum(risk_score), count(*) - count(risk_score) FROM lake.transactions")
    assert s == f and s[0][0] == 200  # the Go test's rows written after the change
    # A snapshot before the change is read with its own schema, on both sides.
    first = snapshots[0][0]
    assert "risk_score" not in spark.sql(f"SELECT * FROM {T} VERSION AS OF {first}").columns
    with flight.cursor() as cur:
        cur.execute(f"SELECT * FROM lake.transactions FOR VERSION AS OF {first} LIMIT 1")
        assert "risk_score" not in cur.fetch_arrow_table().column_names


def test_snapshots_metadata_table_matches_the_server(spark, flight):
    s = sq(spark, f"SELECT snapshot_id, parent_id, operation, unix_millis(committed_at) FROM {T}.snapshots ORDER BY 4, 1")
    f = fq(flight, 'SELECT snapshot_id, parent_id, operation, epoch_ms(committed_at) FROM "transactions$snapshots" ORDER BY 4, 1')
    assert s == f


def test_history_metadata_table_matches_the_server(spark, flight):
    s = sq(spark, f"SELECT unix_millis(made_current_at), snapshot_id, parent_id, is_current_ancestor FROM {T}.history ORDER BY 1, 2")
    f = fq(flight, 'SELECT epoch_ms(made_current_at), snapshot_id, parent_id, is_current_ancestor FROM "transactions$history" ORDER BY 1, 2')
    assert s == f


def test_files_metadata_table_matches_the_server(spark, flight):
    # Spark shows file_path as the manifest stores it (file:///…); the server shows the local path.
    s = sq(spark, f"SELECT regexp_replace(file_path, '^file://', ''), record_count, file_size_in_bytes FROM {T}.files ORDER BY 1")
    f = fq(flight, 'SELECT file_path, record_count, file_size_in_bytes FROM "transactions$files" ORDER BY 1')
    assert len(s) > 0 and s == f
