"""The notebooks: paired with their jupytext files, committed without outputs, and they run."""

import os

import nbformat
import pytest

jupytext = pytest.importorskip("jupytext")
papermill = pytest.importorskip("papermill")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = ("quickstart", "paper_figures")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_paired_and_without_outputs(name):
  nb = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), as_version=4)
  text = jupytext.read(os.path.join(ROOT, "notebooks", f"{name}.py"))
  assert [c.source for c in nb.cells] == [c.source for c in text.cells]
  for cell in nb.cells:
    if cell.cell_type == "code":
      assert cell.outputs == [] and cell.execution_count is None
  assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
  assert "import asgl_jax" in "".join(c.source for c in nb.cells)


def _images(nb):
  return [
    o
    for c in nb.cells
    if c.cell_type == "code"
    for o in c.outputs
    if "image/png" in o.get("data", {})
  ]


@pytest.mark.parametrize(
  "name, params",
  [
    ("quickstart", {"num_train_steps": 10}),
    (
      "paper_figures",
      {"num_epochs": 1, "num_train_steps": 5, "widths": [1.0, 10.0], "fixed_p": [0.8]},
    ),
  ],
)
def test_notebook_runs(tmp_path, name, params):
  out = tmp_path / f"{name}.ipynb"
  nb = papermill.execute_notebook(
    os.path.join(ROOT, "notebooks", f"{name}.ipynb"),
    str(out),
    parameters={**params, "workdir": str(tmp_path / "runs")},
    kernel_name="python3",
    cwd=ROOT,
    progress_bar=False,
  )
  assert len(_images(nb)) >= 2
