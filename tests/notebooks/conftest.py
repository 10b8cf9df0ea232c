"""A Flight SQL server over a filled lake, for the notebooks to query.

FINLAKE_FLIGHT set: use that server as it is (e.g. `just up` or `just dev`).
Otherwise build a lake in a temp dir and serve it with bin/lakectl (FINLAKE_BIN):
FINLAKE_NOTEBOOK_LAKE=fixture (the default) fills it with tests/notebooks/fixture,
a deterministic history written through lakehouse.EnsureTables and iceberg-go.
"""

import os
import pathlib
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


def fill_with_fixture(data):
    subprocess.run(["go", "run", "./tests/notebooks/fixture", "--data", str(data)], cwd=ROOT, check=True, timeout=600)


@pytest.fixture(scope="session")
def flight_uri(tmp_path_factory):
    if os.environ.get("FINLAKE_FLIGHT"):
        yield os.environ["FINLAKE_FLIGHT"]
        return
    mode = os.environ.get("FINLAKE_NOTEBOOK_LAKE", "fixture")
    data = tmp_path_factory.mktemp("lake")
    if mode == "fixture":
        fill_with_fixture(data)
    else:
        pytest.fail(f"FINLAKE_NOTEBOOK_LAKE={mode!r}: want fixture, or set FINLAKE_FLIGHT to a running server")
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
