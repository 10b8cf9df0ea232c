"""PyIceberg, a reader independent of iceberg-go, opens finlake's SQL catalog and
reads the tables `lakectl ingest` wrote, with the counts the writer expects.

The lake is built by the Go test TestPyIcebergReadsTheSameTables
(ingest), which ingests records from a real Kafka broker, compacts,
and then runs this file with:
  FINLAKE_INTEROP_DATA    the data directory (catalog.db + warehouse/)
  FINLAKE_INTEROP_CATALOG_URI  the postgres:// catalog URI (FINLAKE_TEST_CATALOG=postgres), empty for SQLite
  FINLAKE_INTEROP_EXPECT  JSON: expected row counts and snapshot offsets
Run it that way: FINLAKE_BIN=bin/lakectl go test -tags duckdb_arrow -run PyIceberg ./ingest
"""

import json
import os

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyiceberg.catalog.sql import SqlCatalog

DATA = os.environ.get("FINLAKE_INTEROP_DATA")

pytestmark = pytest.mark.skipif(
    not DATA,
    reason="needs the lake built by the Go test TestPyIcebergReadsTheSameTables "
    "(go test -tags duckdb_arrow -run PyIceberg ./ingest runs this file)",
)


@pytest.fixture(scope="module")
def catalog():
    # SQLAlchemy URLs: the SQLite file, or finlake's postgres:// URI with psycopg2.
    uri = os.environ.get("FINLAKE_INTEROP_CATALOG_URI", "")
    uri = uri.replace("postgres://", "postgresql+psycopg2://", 1) if uri else f"sqlite:///{os.path.abspath(DATA)}/catalog.db"
    return SqlCatalog(
        "finlake",
        uri=uri,
        warehouse=f"file://{os.path.abspath(DATA)}/warehouse",
    )


@pytest.fixture(scope="module")
def expect():
    return json.loads(os.environ["FINLAKE_INTEROP_EXPECT"])


def test_catalog_lists_the_three_lake_tables(catalog):
    names = {ident[-1] for ident in catalog.list_tables("lake")}
    assert {"transactions", "alerts", "pipeline_runs"} <= names


def test_transactions_rows_and_keys_match_the_writer(catalog, expect):
    tbl = catalog.load_table("lake.transactions")
    data = tbl.scan().to_arrow()
    assert data.num_rows == expect["transactions"]
    assert pc.count_distinct(data["transaction_id"]).as_py() == expect["transactions"]
    assert data.schema.field("amount").type == pa.decimal128(18, 2)
    assert data.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert data["amount"].null_count == 0
    spec = tbl.spec()
    assert [(f.name, str(f.transform)) for f in spec.fields] == [("timestamp_day", "day")]


def test_alerts_rows_and_flattened_transaction_fields(catalog, expect):
    data = catalog.load_table("lake.alerts").scan().to_arrow()
    assert data.num_rows == expect["alerts"]
    assert pc.count_distinct(data["alert_id"]).as_py() == expect["alerts"]
    assert data["transaction_timestamp"].null_count == 0
    assert data["amount"].null_count == 0


def test_pipeline_runs_readable(catalog, expect):
    data = catalog.load_table("lake.pipeline_runs").scan().to_arrow()
    assert data.num_rows >= expect["pipeline_runs_min"]
    assert pc.sum(data["transactions_written"]).as_py() == expect["transactions"]


def test_current_snapshots_carry_the_resume_offsets(catalog, expect):
    for table, props in expect["offsets"].items():
        snap = catalog.load_table(f"lake.{table}").current_snapshot()
        summary = snap.summary.additional_properties
        for key, value in props.items():
            assert json.loads(summary[key]) == json.loads(value), (table, key)
