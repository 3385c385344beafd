"""Preemption: on SIGTERM the loop finishes its step, checkpoints on every process and stops.

Clusters stop jobs with a signal (SLURM and TPU maintenance send SIGTERM, then kill after a
grace period). The loop asks :meth:`Preemption.reached` after every step; when it says yes the
loop saves a checkpoint and raises :class:`Preempted`, and the experiment mains exit with
:data:`EXIT_PREEMPTED`. Rerunning the same command resumes from that checkpoint.

With several processes JAX's own preemption service (which ``jax.distributed`` starts and
which catches SIGTERM) agrees on the step at which every process saves
(``multihost_utils.reached_preemption_sync_point``); a single process installs a handler of its
own for the signals asked for.
"""

from __future__ import annotations

import signal
import sys
import threading

import jax

# The exit status of a run stopped by preemption (BSD's EX_TEMPFAIL: "try again later").
EXIT_PREEMPTED = 75
# The exit status of a run stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


class Preempted(Exception):
  """Training stopped at ``step`` on a preemption signal (or Ctrl-C), after a checkpoint was
  saved; ``exit_code`` is what a main exits with."""

  def __init__(self, step: int, path: str, signal_name: str = "SIGTERM"):
    what = "interrupted (Ctrl-C)" if signal_name == "SIGINT" else "preempted"
    super().__init__(f"{what} at step {step}; checkpoint saved in {path}; rerun to resume")
    self.step, self.path, self.signal_name = step, path, signal_name
    self.exit_code = EXIT_INTERRUPTED if signal_name == "SIGINT" else EXIT_PREEMPTED


class Preemption:
  """Whether a preemption signal has arrived, agreed by every process.

  Args:
    signals: signal names (``"SIGTERM"``, ``"SIGUSR1"``, ...) a single process stops on.
    interrupt: a single process also stops this way on the first Ctrl-C (SIGINT); a second
      Ctrl-C raises ``KeyboardInterrupt`` at once.

  Use as a context manager around the loop; the previous handlers come back on exit.

  Example:
    >>> import os, signal
    >>> from asgl_jax.train import preemption
    >>> with preemption.Preemption(("SIGUSR1",)) as p:
    ...   before = p.reached(0)
    ...   os.kill(os.getpid(), signal.SIGUSR1)
    ...   after = p.reached(1)
    >>> before, after
    (False, True)
  """

  def __init__(self, signals=("SIGTERM",), *, interrupt: bool = False):
    self.signals = tuple(signals)
    self.interrupt = interrupt
    self.received: str | None = None  # the name of the first signal that arrived
    for name in self.signals:
      if not isinstance(name, str) or not hasattr(signal, name):
        raise ValueError(f"Preemption: unknown signal {name!r}")
    self._flag = threading.Event()
    self._previous: dict[int, object] = {}

  def __enter__(self) -> Preemption:
    multi = jax.process_count() > 1
    if not multi and threading.current_thread() is threading.main_thread():
      for name in self.signals:
        num = getattr(signal, name)
        self._previous[num] = signal.signal(num, self._handle)
      if self.interrupt and signal.SIGINT not in self._previous:
        self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    for num, handler in self._previous.items():
      signal.signal(num, handler)
    self._previous.clear()

  def _handle(self, signum, frame) -> None:
    del frame
    name = signal.Signals(signum).name
    if not self._flag.is_set():
      self.received = name
      again = " (Ctrl-C again stops at once)" if signum == signal.SIGINT else ""
      print(
        f"asgl_jax: {name} received: finishing the step and saving a checkpoint{again}",
        file=sys.stderr,
        flush=True,
      )
    if signum == signal.SIGINT:
      signal.signal(signal.SIGINT, signal.default_int_handler)
    self._flag.set()

  def reached(self, step: int) -> bool:
    """Whether to save and stop after ``step`` (called after every step, on every process)."""
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils

      try:
        return multihost_utils.reached_preemption_sync_point(step)
      except RuntimeError:  # the preemption service is off (jax_enable_preemption_service)
        return False
    return self._flag.is_set()
