"""Progress output, metric files and learning-curve plots of a training run."""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np


class ProgressBar:
  """Training progress: step, rate, ETA and the latest metrics.

  On a terminal a `tqdm <https://tqdm.github.io>`_ bar redrawn in place, fitted to the
  terminal's width (re-read as the window is resized); :meth:`write` prints a line (an epoch's
  summary) above it. On a pipe (CI, logs) one plain line every ``every`` steps and at the end.

  Example:
    >>> import io
    >>> from asgl_jax.train import reporting
    >>> out = io.StringIO()  # not a terminal: plain lines
    >>> bar = reporting.ProgressBar(4, every=2, stream=out)
    >>> for step in range(1, 5):
    ...   bar.update(step, "loss 0.5")
    >>> bar.write("epoch 1/1: done")
    >>> bar.close()
    >>> lines = out.getvalue().splitlines()
    >>> [line.split()[1] for line in lines[:2]], lines[2]
    (['2/4', '4/4'], 'epoch 1/1: done')
  """

  def __init__(self, total: int, *, start: int = 0, every: int = 50, stream=sys.stderr):
    if not (isinstance(every, int) and every >= 1):
      raise ValueError(f"ProgressBar: every must be an int >= 1, got {every!r}")
    self.total, self.start, self.every, self.stream = total, start, every, stream
    self.t0 = time.perf_counter()
    self.tty = hasattr(stream, "isatty") and stream.isatty()
    self._bar = None
    if self.tty:
      from tqdm import tqdm

      self._bar = tqdm(
        total=total,
        initial=start,
        file=stream,
        dynamic_ncols=True,
        unit="step",
        leave=True,
      )

  def update(self, step: int, info: str = "") -> None:
    """Shows ``step`` (of ``total``) with ``info`` (the latest metrics)."""
    if self._bar is not None:
      self._bar.set_postfix_str(info, refresh=False)
      self._bar.update(step - self._bar.n)
      if step >= self.total:
        self.close()
      return
    if step % self.every and step < self.total:
      return
    done = step - self.start
    elapsed = time.perf_counter() - self.t0
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (self.total - step) / rate if rate > 0 else float("inf")
    self.stream.write(
      f"step {step}/{self.total} {rate:.2f} step/s ETA {fmt_time(eta)} {info}".rstrip() + "\n"
    )
    self.stream.flush()

  def write(self, line: str) -> None:
    """Prints ``line`` on its own line (above the bar on a terminal)."""
    if self._bar is not None:
      self._bar.write(line, file=self.stream)
    else:
      self.stream.write(line + "\n")
      self.stream.flush()

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
      self._bar = None


def fmt_time(s: float) -> str:
  """Seconds as ``mm:ss`` or ``h:mm:ss`` (``--:--`` when unknown).

  Example:
    >>> from asgl_jax.train import reporting
    >>> reporting.fmt_time(3725), reporting.fmt_time(float("inf"))
    ('1:02:05', '--:--')
  """
  if not math.isfinite(s):
    return "--:--"
  m, s = divmod(int(s), 60)
  h, m = divmod(m, 60)
  return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class MetricWriter:
  """Writes ``metrics.jsonl`` and, if tensorboardX is installed, TensorBoard event files."""

  def __init__(self, workdir: str):
    os.makedirs(workdir, exist_ok=True)
    self.jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")
    try:
      from tensorboardX import SummaryWriter

      self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
    except ImportError:
      self.tb = None

  def write(self, step: int, metrics: dict[str, float]) -> None:
    rec = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
    self.jsonl.write(json.dumps(rec) + "\n")
    self.jsonl.flush()
    if self.tb is not None:
      for k, v in metrics.items():
        self.tb.add_scalar(k, float(v), int(step))
      self.tb.flush()

  def close(self) -> None:
    self.jsonl.close()
    if self.tb is not None:
      self.tb.close()


def read_history(workdir: str, *, up_to_step: int) -> list[dict[str, float]]:
  """Per-epoch records of ``<workdir>/metrics.jsonl`` up to ``up_to_step`` (a record written
  after the last checkpoint by a killed run is dropped; a rewritten step keeps its last copy)."""
  path = os.path.join(workdir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  by_step: dict[int, dict[str, float]] = {}
  with open(path) as f:
    for line in f:
      if line.strip():
        rec = json.loads(line)
        if rec["step"] <= up_to_step:
          by_step[rec["step"]] = rec
  return [by_step[k] for k in sorted(by_step)]


PARTIAL_EPOCH = "partial_epoch.json"


def write_partial_epoch(workdir: str, step: int, sums: dict[str, float]) -> None:
  """Keeps the running training-metric sums of an epoch cut short at ``step`` (by preemption),
  so the resumed epoch's record averages over all of its steps."""
  tmp = os.path.join(workdir, PARTIAL_EPOCH + ".tmp")
  with open(tmp, "w") as f:
    json.dump({"step": int(step), "sums": sums}, f)
  os.replace(tmp, os.path.join(workdir, PARTIAL_EPOCH))


def read_partial_epoch(workdir: str, step: int) -> dict[str, float]:
  """The sums :func:`write_partial_epoch` kept at ``step`` (empty if none were kept there)."""
  try:
    with open(os.path.join(workdir, PARTIAL_EPOCH)) as f:
      rec = json.load(f)
  except (OSError, ValueError):
    return {}
  if not isinstance(rec, dict) or rec.get("step") != step:
    return {}
  return {str(k): float(v) for k, v in rec.get("sums", {}).items()}


def plot_history(history: list[dict[str, float]], path: str, *, score: str = "accuracy") -> None:
  """Learning curves (loss, the validation ``score`` of both networks, p) and per-layer widths
  to a PNG."""
  from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

  if not history:
    return
  ep = [r["epoch"] for r in history]
  fig = Figure(figsize=(15, 4))
  ax = fig.subplots(1, 3)
  ax[0].plot(ep, [r["train_loss"] for r in history], label="train loss")
  ax[0].set_xlabel("epoch")
  ax[0].set_ylabel("loss")
  ax[0].legend()
  if f"validation_snn_{score}" in history[-1]:  # absent under the paper's protocol
    ax[1].plot(ep, [r[f"validation_snn_{score}"] for r in history], label="val: embedded SNN")
    ax[1].plot(
      ep, [r[f"validation_noisy_{score}"] for r in history], label="val: noisy network", ls="--"
    )
  if f"train_{score}" in history[-1]:
    ax[1].plot(ep, [r[f"train_{score}"] for r in history], label="train (noisy)", ls=":")
  if score == "accuracy":
    ax[1].plot(ep, [r["p"] for r in history], label="p (spike-mode prob.)", color="gray", lw=0.8)
  ax[1].set_xlabel("epoch")
  ax[1].set_ylabel(score)
  ax[1].legend()
  for k in sorted(k for k in history[-1] if k.startswith("width/")):
    ax[2].plot(ep, [r.get(k, np.nan) for r in history], label=k[len("width/") :])
  ax[2].set_xlabel("epoch")
  ax[2].set_ylabel("width α")
  ax[2].set_yscale("log")
  ax[2].legend(fontsize=6)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
