"""The benchmark scripts the GPU run depends on run end to end at small sizes (not timed)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(args, timeout=600):
  env = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu"}
  return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _json_lines(out: str) -> list[dict]:
  return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_gpu_run_script_parses_and_names_its_commands():
  assert _run(["bash", "-n", "benchmarks/gpu_run.sh"]).returncode == 0
  r = _run(["bash", "benchmarks/gpu_run.sh"])
  assert r.returncode == 2
  for command in ("fetch", "run", "smoke", "compile", "dry"):
    assert command in r.stderr


def test_input_pipeline_benchmark_ends_with_one_json_line_per_pipeline():
  pytest.importorskip("tensorflow_datasets")
  r = _run(
    [
      sys.executable,
      "benchmarks/input_pipeline.py",
      "--cores=1",
      "--pipelines=cifar10,shd,autoaugment_only",
      "--batches=1",
      "--rounds=1",
      "--mock_examples=256",
    ]
  )
  assert r.returncode == 0, r.stderr[-2000:]
  rows = _json_lines(r.stdout)
  assert [row["pipeline"] for row in rows] == ["cifar10", "shd", "autoaugment_only"]
  assert all(row["cores"] == 1 and row["images_per_second"] > 0 for row in rows)


def test_robustness_probe_rejects_every_crafted_file_but_one_it_documents():
  pytest.importorskip("h5py")
  r = _run([sys.executable, "benchmarks/robustness.py", "--parts=files"])
  assert r.returncode == 0, r.stderr[-2000:]
  (row,) = _json_lines(r.stdout)
  assert row["unclear"] == 0
  assert row["accepted"] == 1 and "timestamps going back | accepted" in r.stdout
