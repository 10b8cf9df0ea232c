"""The analyst notebooks run top to bottom, headless, as a new user would run them."""

import json
import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TIME_TRAVEL = ROOT / "notebooks" / "03_time_travel_and_schema_evolution.ipynb"


def execute(path, flight_uri, workdir, monkeypatch):
    """Runs every cell in a fresh kernel; nbclient raises CellExecutionError on the first failing cell."""
    monkeypatch.setenv("FINLAKE_FLIGHT", flight_uri)
    # 05 runs lakectl and the job's jar from the repository the notebooks run in a copy of.
    monkeypatch.setenv("FINLAKE_REPO", str(ROOT))
    monkeypatch.setenv("FINLAKE_BIN", os.environ.get("FINLAKE_BIN", str(ROOT / "bin" / "lakectl")))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}).execute()
    # Keep the executed copy for a human to look at; notebooks/ itself stays stripped.
    nbformat.write(nb, workdir / path.name)
    return nb


def outputs(nb, kind):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if kind(o)]


def test_there_are_five_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"], NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_and_draws_its_plots(path, flight_uri, tmp_path, monkeypatch):
    nb = execute(path, flight_uri, tmp_path, monkeypatch)
    pictures = outputs(nb, lambda o: "image/png" in o.get("data", {}))
    assert pictures, f"{path.name} ran but drew no plot"


def test_time_travel_notebook_runs_again_without_adding_the_column_twice(flight_uri, tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    execute(TIME_TRAVEL, flight_uri, tmp_path / "a", monkeypatch)
    nb = execute(TIME_TRAVEL, flight_uri, tmp_path / "b", monkeypatch)
    text = "".join(o.get("text", "") for o in outputs(nb, lambda o: o.get("output_type") == "stream"))
    assert "already has analyst_note; nothing to do" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name} has outputs stored: clear them (Jupyter: Edit > Clear Outputs of All Cells, "
                "or `nbstripout notebooks/*.ipynb`)"
            )
