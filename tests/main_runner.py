"""Runs Python (an experiment main) in a subprocess from the repository root, as a user would.
Shared by the tests of the mains."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(args, timeout=600, **kw) -> subprocess.CompletedProcess:
  """``python *args`` in the repository root with the package importable."""
  return subprocess.run(
    [sys.executable, *args],
    capture_output=True,
    text=True,
    cwd=ROOT,
    env=dict(os.environ, PYTHONPATH=ROOT),
    timeout=timeout,
    **kw,
  )


def run_main(module: str, config: str, workdir, *flags) -> dict:
  """Runs ``python -m module --config=config --workdir=workdir *flags``, checks it succeeded
  and returns the run's summary.json."""
  r = run_python(["-m", module, f"--config={config}", f"--workdir={workdir}", *flags])
  assert r.returncode == 0, r.stderr[-3000:]
  with open(os.path.join(workdir, "summary.json")) as f:
    return json.load(f)
