"""Data parallelism with ``jax.jit`` over a ``'data'`` mesh axis (the successor of pmap).

Parameters and optimizer state are replicated; batches are sharded along their
leading axis. Multi-host: call :func:`initialize_distributed` first (it wraps
``jax.distributed.initialize()``); each process then feeds its local share of
the global batch.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P


def initialize_distributed() -> None:
  """Multi-host set-up: ``jax.distributed.initialize()`` (auto-detects TPU pods, SLURM, ...).

  Call it before any other JAX call, on every host; single-host runs do not need it.
  """
  jax.distributed.initialize()


def make_mesh(num_devices: int | None = None) -> Mesh:
  """A 1-D mesh with axis ``'data'`` over ``num_devices`` (default: all) devices."""
  n = jax.device_count() if num_devices is None else num_devices
  if not 1 <= n <= jax.device_count():
    raise ValueError(f"make_mesh: num_devices must be in [1, {jax.device_count()}], got {n}")
  # Auto axes: XLA propagates the batch sharding through the time folding
  # ([T, B] <-> [T·B]) reshapes of the models.
  return jax.make_mesh(
    (n,), ("data",), devices=jax.devices()[:n], axis_types=(jax.sharding.AxisType.Auto,)
  )


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P("data"))


def shard_batch(batch: dict, mesh: Mesh) -> dict:
  """Puts a global host batch onto the mesh, sharded along axis 0.

  Every process builds the same global batch (the pipelines are deterministic);
  each contributes its own contiguous slice of rows.
  """
  sharding = batch_sharding(mesh)
  n = mesh.devices.size
  procs, me = jax.process_count(), jax.process_index()

  def put(x):
    x = np.asarray(x)
    if x.shape[0] % n or x.shape[0] % procs:
      raise ValueError(f"batch size {x.shape[0]} is not divisible by the {n} devices of the mesh")
    if procs > 1:
      per = x.shape[0] // procs
      x = x[me * per : (me + 1) * per]
    return jax.make_array_from_process_local_data(sharding, x)

  return jax.tree_util.tree_map(put, batch)
