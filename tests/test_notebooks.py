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
  source = "".join(c.source for c in nb.cells)
  # one install command, from the one source the user sets (test_install_cell_... runs it)
  assert source.count("ASGL_JAX_SOURCE =") == 1 and source.count("pip install") == 1
  assert "from asgl_jax import" in source


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


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_install_cell_installs_only_asgl_jax_from_a_local_wheel(tmp_path, name):
  """The install cell, run by IPython as Colab runs it, offline: from a wheel built here, pip
  would install asgl_jax and nothing else (the runtime's jax stays)."""
  import json
  import subprocess
  import sys

  pytest.importorskip("IPython")
  pytest.importorskip("setuptools")
  wheels = tmp_path / "wheels"
  build = ["wheel", "-q", "--no-deps", "--no-build-isolation", ROOT, "-w", str(wheels)]
  subprocess.run(
    [sys.executable, "-m", "pip", *build],
    check=True,
    capture_output=True,
    timeout=300,
  )
  (wheel,) = wheels.glob("asgl_jax-*.whl")
  nb = nbformat.read(os.path.join(ROOT, "notebooks", f"{name}.ipynb"), as_version=4)
  (cell,) = [c.source for c in nb.cells if "ASGL_JAX_SOURCE =" in c.source]
  default = cell.split('ASGL_JAX_SOURCE = "')[1].split('"')[0]
  source = cell.replace(default, wheel.as_uri())
  code = f"""
import sys
sys.modules["asgl_jax"] = None  # as on a fresh Colab runtime: not importable
from IPython.core.interactiveshell import InteractiveShell
result = InteractiveShell.instance().run_cell({source!r})
sys.exit(0 if result.success else 1)
"""
  report = tmp_path / "report.json"
  env = dict(os.environ, PIP_DRY_RUN="1", PIP_NO_INDEX="1", PIP_REPORT=str(report))
  r = subprocess.run(
    [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
  )
  assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
  installs = json.loads(report.read_text())["install"]
  assert [(i["metadata"]["name"], i["download_info"]["url"]) for i in installs] == [
    ("asgl_jax", wheel.as_uri())
  ]
