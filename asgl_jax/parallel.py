"""Data parallelism with ``jax.jit`` over a ``'data'`` mesh axis (the successor of pmap).

Parameters and optimizer state are replicated; batches are sharded along their
leading axis. Multi-process (several hosts, or several processes on one machine): call
:func:`initialize_distributed` first (it wraps ``jax.distributed.initialize()``); each
process then feeds its local share of the global batch, every process runs the collectives,
and only process 0 writes files (:func:`is_writer`).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P


def initialize_distributed(
  coordinator_address: str | None = None,
  num_processes: int | None = None,
  process_id: int | None = None,
) -> None:
  """Multi-process set-up: ``jax.distributed.initialize`` on every process, before any other
  JAX call. Single-process runs do not need it.

  With no arguments JAX detects the cluster (TPU pods, SLURM, Open MPI, Kubernetes). By hand
  (e.g. several processes on one machine) give all three, or set ``ASGL_JAX_COORDINATOR``
  (``host:port`` of process 0), ``ASGL_JAX_NUM_PROCESSES`` and ``ASGL_JAX_PROCESS_ID``. CPU
  collectives go through gloo.

  Args:
    coordinator_address: ``host:port`` where process 0 serves the coordination service.
    num_processes: the number of processes.
    process_id: this process's index, ``0 .. num_processes − 1``.
  """
  env = os.environ
  coordinator_address = coordinator_address or env.get("ASGL_JAX_COORDINATOR") or None
  if num_processes is None and env.get("ASGL_JAX_NUM_PROCESSES"):
    num_processes = int(env["ASGL_JAX_NUM_PROCESSES"])
  if process_id is None and env.get("ASGL_JAX_PROCESS_ID"):
    process_id = int(env["ASGL_JAX_PROCESS_ID"])
  given = [v is not None for v in (num_processes, process_id)]
  if any(given) and not all(given):
    raise ValueError(
      "initialize_distributed: give both num_processes and process_id (or neither, to let JAX "
      f"detect the cluster), got num_processes={num_processes}, process_id={process_id}"
    )
  if num_processes is not None and not 0 <= process_id < num_processes:
    raise ValueError(
      f"initialize_distributed: process_id must be in [0, {num_processes}), got {process_id}"
    )
  kwargs = {
    k: v
    for k, v in dict(
      coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id
    ).items()
    if v is not None
  }
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(**kwargs)


def is_writer() -> bool:
  """Whether this process writes the run's files and progress: process 0 of the run."""
  return jax.process_index() == 0


def process_tag() -> str:
  """``"[process i/n] "`` for messages when there are several processes, else ``""``."""
  n = jax.process_count()
  return f"[process {jax.process_index()}/{n}] " if n > 1 else ""


def check_shared_workdir(workdir: str) -> None:
  """Every process must see the same ``workdir`` (checkpoints are written jointly): process 0
  writes a token there and every process reads it back before the first step. A clear error
  on every process, instead of a hang at the first checkpoint, when they do not."""
  if jax.process_count() == 1:
    return
  from jax.experimental import multihost_utils

  token = int(np.random.default_rng().integers(1, 2**31 - 1))
  token = int(multihost_utils.broadcast_one_to_all(np.int32(token)))
  path = os.path.join(workdir, ".asgl_jax_workdir_token")
  if is_writer():
    with open(path, "w") as f:
      f.write(str(token))
  multihost_utils.sync_global_devices("asgl_jax: workdir token written")
  try:
    with open(path) as f:
      seen = int(f.read().strip() or 0)
  except (OSError, ValueError):
    seen = None
  ok = multihost_utils.process_allgather(np.int32(seen == token))
  if not np.all(ok):
    bad = [i for i, v in enumerate(np.ravel(ok)) if not v]
    raise RuntimeError(
      f"{process_tag()}processes {bad} do not see process 0's workdir {os.path.abspath(workdir)}: "
      "every process of a run needs the same workdir on a shared filesystem"
    )


LOCK_FILE = ".asgl_jax_lock"


def lock_workdir(workdir: str):
  """Takes ``<workdir>/.asgl_jax_lock`` for this run (process 0 holds an exclusive ``flock``;
  the kernel drops it when the process ends, however it ends, so a killed run never leaves it
  stuck). Another run on the same workdir gets a clear error on every process instead of
  interleaved checkpoints and metrics. Returns the open lock file (close it to release), or
  ``None`` where ``fcntl`` does not exist."""
  try:
    import fcntl
  except ImportError:  # not POSIX: no lock
    return None
  handle, held_by = None, ""
  if is_writer():
    path = os.path.join(workdir, LOCK_FILE)
    handle = open(path, "a+")  # kept open (and locked) for the run
    try:
      fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      handle.seek(0)
      held_by = handle.read().strip() or "another process"
      handle.close()
      handle = None
    else:
      handle.seek(0)
      handle.truncate()
      handle.write(f"pid {os.getpid()} on {os.uname().nodename}")
      handle.flush()
  ok = handle is not None if is_writer() else True
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils

    ok = bool(multihost_utils.broadcast_one_to_all(np.int32(ok)))
  if not ok:
    where = f" ({held_by})" if held_by else ""
    raise RuntimeError(
      f"{process_tag()}workdir {os.path.abspath(workdir)} is in use by another run{where}: "
      "wait for it to end or give this run its own --workdir"
    )
  return handle


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D mesh with axis ``'data'`` over ``num_devices`` (default: all) devices.

  With several processes the mesh spans every device of every process (``num_devices`` must
  be the global device count or ``None``): each process feeds its own devices' rows.
  """
  n = jax.device_count() if num_devices is None else num_devices
  if not 1 <= n <= jax.device_count():
    raise ValueError(f"make_mesh: num_devices must be in [1, {jax.device_count()}], got {n}")
  if jax.process_count() > 1 and n != jax.device_count():
    raise ValueError(
      f"make_mesh: with {jax.process_count()} processes the mesh spans all "
      f"{jax.device_count()} devices; num_devices={n} would leave some processes without "
      "devices (set config.num_devices=0)"
    )
  # Auto axes: XLA propagates the batch sharding through the time folding
  # ([T, B] <-> [T·B]) reshapes of the models.
  return jax.make_mesh(
    (n,), ("data",), devices=jax.devices()[:n], axis_types=(jax.sharding.AxisType.Auto,)
  )


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P("data"))


def process_rows(mesh: Mesh, batch_size: int) -> slice:
  """The contiguous rows of a global batch of ``batch_size`` that this process's devices hold
  under :func:`batch_sharding` (all of them with one process)."""
  n = mesh.devices.size
  if batch_size % n:
    raise ValueError(f"batch size {batch_size} is not divisible by the {n} devices of the mesh")
  index_map = batch_sharding(mesh).addressable_devices_indices_map((batch_size,))
  starts = sorted({idx[0].indices(batch_size)[:2] for idx in index_map.values()})
  lo, hi = starts[0][0], starts[-1][1]
  if sum(b - a for a, b in starts) != hi - lo:
    raise ValueError(
      f"{process_tag()}this process's devices hold non-contiguous rows {starts} of the batch"
    )
  return slice(lo, hi)


def shard_batch(batch: dict, mesh: Mesh, batch_size: int | None = None) -> dict:
  """Puts a batch onto the mesh, sharded along axis 0.

  ``batch`` holds this process's rows (:func:`process_rows`) of a global batch of
  ``batch_size`` rows; with one process (or ``batch_size=None``) it is the whole batch.
  """
  sharding = batch_sharding(mesh)
  n = mesh.devices.size

  def put(x):
    x = np.asarray(x)
    total = x.shape[0] * jax.process_count() if batch_size is None else batch_size
    if total % n:
      raise ValueError(f"batch size {total} is not divisible by the {n} devices of the mesh")
    return jax.make_array_from_process_local_data(sharding, x, (total, *x.shape[1:]))

  return jax.tree_util.tree_map(put, batch)


class Prefetcher:
  """``fn(step)`` for ``step`` in ``[start, stop)``, computed ``depth`` steps ahead on a
  background thread: the next batches are read, augmented and put on the devices while the
  current step runs. Results come back in step order; an exception in ``fn`` is raised by the
  :meth:`get` of its step. ``depth=0`` computes each on the caller's thread, when asked.

  Example:
    >>> from asgl_jax import parallel
    >>> with parallel.Prefetcher(lambda s: s * s, start=2, stop=5, depth=2) as batches:
    ...   [batches.get(s) for s in range(2, 5)]
    [4, 9, 16]
  """

  def __init__(self, fn, *, start: int, stop: int, depth: int = 2):
    import queue
    import threading

    if not (isinstance(depth, int) and depth >= 0):
      raise ValueError(f"Prefetcher: depth must be an int >= 0, got {depth!r}")
    self.fn, self.next_step, self.stop, self.depth = fn, start, stop, depth
    self.waited = 0.0  # seconds get() spent waiting for a result that was not ready
    self._stop = threading.Event()
    self._queue = queue.Queue(maxsize=max(depth, 1))
    self._thread = None
    if depth:
      self._thread = threading.Thread(target=self._produce, args=(start,), daemon=True)
      self._thread.start()

  def _produce(self, step: int) -> None:
    import queue

    while step < self.stop and not self._stop.is_set():
      try:
        item = (step, self.fn(step), None)
      except BaseException as e:  # handed to the consumer, raised by its get()
        item = (step, None, e)
      while not self._stop.is_set():
        try:
          self._queue.put(item, timeout=0.1)
          break
        except queue.Full:
          continue
      if item[2] is not None:
        return
      step += 1

  def get(self, step: int):
    """The result for ``step`` (steps must be asked for in order, one after another)."""
    import queue
    import time

    if step != self.next_step:
      raise ValueError(f"Prefetcher: asked for step {step}, expected {self.next_step}")
    self.next_step += 1
    t0 = time.perf_counter()
    if self._thread is None:
      out = self.fn(step)
      self.waited += time.perf_counter() - t0
      return out
    while True:
      try:
        got, out, error = self._queue.get(timeout=1.0)
        break
      except queue.Empty:
        if not self._thread.is_alive() and self._queue.empty():
          raise RuntimeError("Prefetcher: the producing thread ended without a result") from None
    self.waited += time.perf_counter() - t0
    if error is not None:
      raise error
    assert got == step, (got, step)
    return out

  def close(self) -> None:
    """Stops the background thread (results not asked for are dropped)."""
    self._stop.set()
    if self._thread is not None:
      self._thread.join(timeout=60)

  def __enter__(self) -> Prefetcher:
    return self

  def __exit__(self, *exc) -> None:
    self.close()
