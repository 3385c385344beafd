"""Real processes: 2 processes × 2 fake CPU devices (gloo, 127.0.0.1) against 1 × 4; one writer;
per-process data; SIGTERM to both saves and the rerun resumes exactly; a workdir the processes
do not share fails fast. (Single-process preemption: tests/test_train.py.)"""

import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TINY = [
  "--config.model.name=cnn_tiny",
  "--config.batch_size=32",
  "--config.analysis_examples=0",
  "--config.log_every=1",
]


# Long enough that a SIGTERM sent at step 5 is agreed on (JAX's preemption sync point, some
# seconds later) before the run ends.
STEPS = 60


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _start(workdirs, devices, args, num_processes=1):
  """Starts ``experiments.mnist`` as ``num_processes`` processes (one workdir each)."""
  env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "GLIBC_TUNABLES")}
  env.update(
    XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
    JAX_PLATFORMS="cpu",
    ASGL_JAX_HUGEPAGES="0",
    PYTHONPATH=str(ROOT),
  )
  port = _free_port()
  procs = []
  for i in range(num_processes):
    dist = []
    if num_processes > 1:
      dist = [
        "--config.distributed=True",
        f"--config.coordinator_address=127.0.0.1:{port}",
        f"--config.num_processes={num_processes}",
        f"--config.process_id={i}",
      ]
    cmd = [sys.executable, "-m", "experiments.mnist", f"--workdir={workdirs[i]}", *args, *dist]
    procs.append(
      subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
      )
    )
  return procs


def _finish(procs, timeout=240):
  out = []
  deadline = time.monotonic() + timeout
  try:
    for p in procs:
      stdout, stderr = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
      out.append((p.returncode, stdout, stderr))
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
  return out


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory):
  """``STEPS`` steps as 2 processes × 2 devices (one shared workdir) and as 1 × 4 devices."""
  tmp = tmp_path_factory.mktemp("reference")
  args = [*TINY, f"--config.num_train_steps={STEPS}"]
  started = _start([tmp / "two", tmp / "two"], 2, args, 2) + _start([tmp / "one"], 4, args)
  *two, one = _finish(started)
  for rc, _, err in (*two, one):
    assert rc == 0, err[-3000:]
  return tmp, two


def test_two_processes_train_as_one_and_only_process_0_writes(reference_runs):
  tmp, two = reference_runs
  shared = tmp / "two"
  a = json.loads((shared / "summary.json").read_text())
  b = json.loads((tmp / "one" / "summary.json").read_text())
  assert a["num_devices"] == b["num_devices"] == 4
  rel = abs(a["final_train_loss"] - b["final_train_loss"]) / b["final_train_loss"]
  assert rel <= 1e-3, (a["final_train_loss"], b["final_train_loss"])
  assert abs(a["test_snn_accuracy"] - b["test_snn_accuracy"]) <= 0.01
  # One copy of each output, written by process 0; process 1 prints no progress.
  assert len((shared / "metrics.jsonl").read_text().splitlines()) == 1
  assert len(list((shared / "tensorboard").iterdir())) == 1
  (_, out0, err0), (_, out1, err1) = two
  assert "Embedded SNN test accuracy" in out0 and "Embedded SNN" not in out1
  assert "step/s" in err0 and "step/s" not in err1 and "epoch 1/1" not in err1
  # Each process reads only its own half of every batch.
  assert "[process 0/2] feeds rows 0–15 of every batch of 32 to its 2 devices" in err0
  assert "[process 1/2] feeds rows 16–31 of every batch of 32 to its 2 devices" in err1


def test_separate_workdirs_fail_fast_on_every_process(tmp_path):
  runs = _finish(
    _start([tmp_path / "a", tmp_path / "b"], 1, [*TINY, "--config.num_train_steps=2"], 2),
    timeout=180,
  )
  for rc, _, err in runs:
    assert rc != 0 and "do not see process 0's workdir" in err, err[-2000:]


def _wait_for_step(proc, step: int, timeout=180):
  """Reads ``proc``'s stderr until the progress line reaches ``step``; returns what it read."""
  seen = []
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    line = proc.stderr.readline()
    if not line:
      break
    seen.append(line)
    if "step/s" in line:
      done = int(re.search(r"step (\d+)/", line).group(1))
      if done >= step:
        return seen
  proc.kill()
  raise AssertionError("".join(seen)[-3000:])


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_sigterm_to_both_processes_saves_and_the_rerun_ends_as_an_uninterrupted_run(
  reference_runs, tmp_path
):
  tmp, _ = reference_runs
  args = [*TINY, f"--config.num_train_steps={STEPS}"]
  cut = tmp_path / "cut"
  procs = _start([cut, cut], 2, args, 2)
  try:
    _wait_for_step(procs[0], 5)
  except AssertionError:
    _finish(procs, timeout=5)
    raise
  for p in procs:  # as a cluster stops a job: every process gets SIGTERM
    p.send_signal(signal.SIGTERM)
  runs = _finish(procs)
  for rc, _, err in runs:
    assert rc == 75, err[-3000:]  # preemption.EXIT_PREEMPTED, on every process
    assert "preempted at step" in err
  saved = sorted(int(p.name) for p in (cut / "checkpoints").iterdir() if p.name.isdigit())
  assert saved and 5 <= saved[-1] < STEPS and not (cut / "summary.json").exists()
  again = _finish(_start([cut, cut], 2, args, 2))
  for rc, _, err in again:
    assert rc == 0, err[-3000:]
  assert f"Resuming from step {saved[-1]}" in again[0][2]
  a = json.loads((tmp / "two" / "summary.json").read_text())
  b = json.loads((cut / "summary.json").read_text())
  for k in ("test_snn_accuracy", "test_noisy_accuracy", "final_train_loss", "steps"):
    assert a[k] == b[k], k
  np.testing.assert_array_equal(list(a["widths"].values()), list(b["widths"].values()))
  assert len((cut / "metrics.jsonl").read_text().splitlines()) == 1


def test_initialize_distributed_rejects_half_given_settings(monkeypatch):
  from asgl_jax import parallel

  for k in ("ASGL_JAX_COORDINATOR", "ASGL_JAX_NUM_PROCESSES", "ASGL_JAX_PROCESS_ID"):
    monkeypatch.delenv(k, raising=False)
  with pytest.raises(ValueError, match="both num_processes and process_id"):
    parallel.initialize_distributed("127.0.0.1:1234", num_processes=2)
  monkeypatch.setenv("ASGL_JAX_NUM_PROCESSES", "2")
  monkeypatch.setenv("ASGL_JAX_PROCESS_ID", "2")
  with pytest.raises(ValueError, match=r"process_id must be in \[0, 2\)"):
    parallel.initialize_distributed("127.0.0.1:1234")
