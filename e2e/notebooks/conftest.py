"""A Flight SQL server over a filled lake, for the notebooks to query.

FINLAKE_FLIGHT set: use that server as it is (e.g. `just up` or `just dev`).
Otherwise build a lake in a temp dir, with bin/lakectl (FINLAKE_BIN):
- FINLAKE_NOTEBOOK_LAKE=pipeline: the whole pipeline (`lakectl stack up`: Kafka, the
  Flink job jar, rules watcher, generator, ingest, Flight SQL server) on free ports
  fills it for a while, and the notebooks query the stack's own server;
- FINLAKE_NOTEBOOK_LAKE=fixture: the same parts without Kafka: `lakectl generate` writes
  two days of transactions to a file, the Flink job's replay mode applies config/rules.yaml
  to them, cmd/notebookfixture lands its output through ingest's own JSON -> Arrow path,
  and `lakectl serve` serves the lake.
"""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lakectl():
    b = pathlib.Path(os.environ.get("FINLAKE_BIN", ROOT / "bin" / "lakectl"))
    if not b.exists():
        pytest.fail(f"{b} not found: run `just build` (or set FINLAKE_BIN)")
    return str(b)


def wait_ready(url, proc, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lakectl serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    pytest.fail(f"{url} not ready after {timeout}s:\n{log.read_text()[-4000:]}")


def flink_jar():
    jar = pathlib.Path(os.environ.get("FINLAKE_FLINK_JAR", ROOT / "flinkjob" / "target" / "finlake-flinkjob.jar"))
    if not jar.exists():
        pytest.fail(f"{jar} not found: `just test-notebooks` builds it (mvn -f flinkjob/pom.xml package)")
    return jar


def fill_with_fixture(data, work):
    """Generator -> the job's replay (the streaming job's operators over a file) -> ingest's append path."""
    raw, out = work / "raw.jsonl", work / "replay"
    # 300 accounts with a higher fraud rate than the default: every rule fires, and
    # accounts have the history new_country needs, in a lake of ~13,000 events.
    subprocess.run([lakectl(), "generate", "--seed", "7", "--backfill", "48h", "--rate", "0.04", "--accounts", "300",
                    "--fraud-rate", "0.02", "--output", str(raw), "--labels", str(work / "labels.jsonl")],
                   cwd=ROOT, check=True, timeout=120)
    # The ground truth of this lake, for 05_rule_backtesting's precision and recall.
    os.environ["FINLAKE_LABELS"] = str(work / "labels.jsonl")
    subprocess.run(["java", "-jar", str(flink_jar()), "--replay", str(raw), "--rules", str(ROOT / "config" / "rules.yaml"),
                    "--fx", str(ROOT / "config" / "fx_rates.yaml"), "--out", str(out)], cwd=ROOT, check=True, timeout=300)
    subprocess.run(["go", "run", "./cmd/notebookfixture", "--data", str(data), "--replay", str(out)],
                   cwd=ROOT, check=True, timeout=600)


def lake_counts(uri):
    import adbc_driver_flightsql.dbapi as flightsql

    with flightsql.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        counts = {}
        for t in ("transactions", "alerts", "pipeline_runs"):
            cur.execute(f"SELECT count(*) FROM lake.{t}")
            counts[t] = cur.fetchone()[0]
        return counts


# What the notebooks need to tell their stories: transactions with lifecycles,
# some alerts, and at least one pipeline_runs row (ingest writes one a minute).
PIPELINE_ENOUGH = {"transactions": 2000, "alerts": 1, "pipeline_runs": 1}


def stop_stack(bin_, data):
    """`lakectl stack down`; if that cannot run, SIGTERM the supervisor, which stops its processes."""
    try:
        r = subprocess.run([bin_, "--data", str(data), "stack", "down"], cwd=ROOT, timeout=120,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return
    except (OSError, subprocess.TimeoutExpired):
        pass
    pid_file = data / "stack" / "supervisor.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(1)
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def pipeline_uri(tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    data = work / "data"
    config = work / "config"
    config.mkdir()
    for f in ("rules.yaml", "fx_rates.yaml"):
        shutil.copy(ROOT / "config" / f, config / f)
    jar = flink_jar()
    ports = {p: free_port() for p in ("kafka", "flink", "flight", "generator", "ingest", "flight-http")}
    bin_ = lakectl()
    cmd = [bin_, "--data", str(data), "stack", "up", "--detach", "--rate", "50",
           "--rules", str(config / "rules.yaml"), "--flink-jar", str(jar)]
    for name, port in ports.items():
        cmd += [f"--{name}-port", str(port)]
    out = work / "stack-up.out"

    def logs():
        text = out.read_text()[-3000:] if out.exists() else ""
        for f in sorted((data / "logs").glob("*.log")) if (data / "logs").exists() else []:
            text += f"\n--- {f.name}\n" + f.read_text()[-1500:]
        return text

    try:
        with open(out, "wb") as o:
            r = subprocess.run(cmd, cwd=ROOT, stdout=o, stderr=subprocess.STDOUT, timeout=660)
        if r.returncode != 0:
            pytest.fail(f"lakectl stack up exited {r.returncode}:\n{logs()}")
        uri = f"grpc://127.0.0.1:{ports['flight']}"
        deadline = time.monotonic() + 300
        counts = {}
        while time.monotonic() < deadline:
            try:
                counts = lake_counts(uri)
            except Exception as e:  # tables appear with ingest's first commit
                counts = {"error": str(e)}
            if all(counts.get(t, 0) >= n for t, n in PIPELINE_ENOUGH.items()):
                break
            time.sleep(5)
        else:
            pytest.fail(f"the pipeline did not fill the lake within 5 minutes: {counts}, want {PIPELINE_ENOUGH}\n{logs()}")
        print(f"lake filled by the pipeline: {counts}")
        yield uri
    finally:
        stop_stack(bin_, data)


@pytest.fixture(scope="session")
def flight_uri(request, tmp_path_factory):
    if os.environ.get("FINLAKE_FLIGHT"):
        yield os.environ["FINLAKE_FLIGHT"]
        return
    mode = os.environ.get("FINLAKE_NOTEBOOK_LAKE", "pipeline")
    if mode == "pipeline":
        yield request.getfixturevalue("pipeline_uri")
        return
    if mode != "fixture":
        pytest.fail(f"FINLAKE_NOTEBOOK_LAKE={mode!r}: want pipeline or fixture, or set FINLAKE_FLIGHT to a running server")
    data = tmp_path_factory.mktemp("lake")
    started = time.monotonic()
    fill_with_fixture(data, tmp_path_factory.mktemp("fixture"))
    print(f"lake filled by the fixture in {time.monotonic() - started:.1f} s")
    port, http = free_port(), free_port()
    log = data / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [lakectl(), "--data", str(data), "serve", "--listen", f"127.0.0.1:{port}", "--http", f"127.0.0.1:{http}"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{http}/readyz", proc, log)
        yield f"grpc://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
