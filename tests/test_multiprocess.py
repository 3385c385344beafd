"""Real processes: 2 processes × 2 fake CPU devices (gloo, 127.0.0.1) against 1 × 4; one writer;
preemption by SIGTERM saves and resumes; a workdir the processes do not share fails fast."""

import json
import os
import pathlib
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


def test_two_processes_train_as_one_and_only_process_0_writes(tmp_path):
  shared = tmp_path / "two"
  args = [*TINY, "--config.num_train_steps=30"]
  started = _start([shared, shared], 2, args, 2) + _start([tmp_path / "one"], 4, args)
  *two, one = _finish(started)
  for rc, _, err in (*two, one):
    assert rc == 0, err[-3000:]
  a = json.loads((shared / "summary.json").read_text())
  b = json.loads((tmp_path / "one" / "summary.json").read_text())
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
      done = int(line.split("]")[1].split("/")[0])
      if done >= step:
        return seen
  proc.kill()
  raise AssertionError("".join(seen)[-3000:])


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_sigterm_saves_a_checkpoint_and_the_rerun_ends_as_an_uninterrupted_run(tmp_path):
  args = [*TINY, "--config.num_train_steps=40"]
  whole, proc = _start([tmp_path / "whole"], 1, args) + _start([tmp_path / "cut"], 1, args)
  _wait_for_step(proc, 10)
  proc.send_signal(signal.SIGTERM)
  (rc, _, err), (whole_rc, _, whole_err) = _finish([proc, whole])
  assert whole_rc == 0, whole_err[-3000:]
  assert rc == 75, err[-3000:]  # preemption.EXIT_PREEMPTED
  assert "SIGTERM received" in err and "preempted at step" in err
  saved = sorted(int(p.name) for p in (tmp_path / "cut" / "checkpoints").iterdir())
  assert saved and 10 <= saved[-1] < 40 and not (tmp_path / "cut" / "summary.json").exists()
  again = _finish(_start([tmp_path / "cut"], 1, args))
  assert again[0][0] == 0 and f"Resuming from step {saved[-1]}" in again[0][2], again[0][2][-3000:]
  a = json.loads((tmp_path / "whole" / "summary.json").read_text())
  b = json.loads((tmp_path / "cut" / "summary.json").read_text())
  for k in ("test_snn_accuracy", "test_noisy_accuracy", "steps"):
    assert a[k] == b[k], k
  np.testing.assert_array_equal(list(a["widths"].values()), list(b["widths"].values()))


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
