"""Event-driven ``s @ W`` and ``sᵀ g`` for bool/integer spikes on XLA:CPU.

SciPy's compressed-sparse-row products on row blocks in parallel threads, called through
``jax.experimental.buffer_callback`` so that they read and write XLA's own buffers without
copies. Inputs with more than :data:`DENSE_ABOVE` nonzeros are multiplied densely (NumPy)
inside the same callback; products smaller than :data:`EVENT_DRIVEN_MIN_MACS` multiply-adds
(known from the shapes at trace time) stay with XLA's dense matmul. The values are those of
the dense product up to float summation order.

XLA's SPMD partitioner does not partition a host callback (under a multi-device CPU mesh
every device would run it on the gathered batch), so a process with more than one CPU device
gets XLA's dense matmul. Code containing the callback cannot be serialised with ``jax.export``
for the CPU platform (export for GPU/TPU lowers the dense branch only).
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import os

import jax
import jax.numpy as jnp
import numpy as np

try:  # an experimental API: if a JAX version moves it, every backend takes the dense product
  from jax.experimental.buffer_callback import buffer_callback
except ImportError:
  buffer_callback = None

Array = jax.Array

# Row blocks smaller than this are not worth a thread of their own.
MIN_ROWS_PER_THREAD = 2048
# Above this fraction of nonzero inputs the kernels multiply densely: the sparse product's cost
# grows with the spike count, the dense one's does not (benchmarks/spike_matmul.py).
DENSE_ABOVE = 0.1
# Below this many multiply-adds (rows × F × H) XLA's dense matmul is used: the host call's
# fixed cost (thread hand-off, CSR set-up) outweighs what the spikes save.
EVENT_DRIVEN_MIN_MACS = 500_000_000
_POOL: concurrent.futures.ThreadPoolExecutor | None = None


@functools.cache
def several_cpu_devices() -> bool:
  """More than one CPU device: host callbacks would run on the gathered batch on each."""
  try:
    return len(jax.devices("cpu")) > 1
  except RuntimeError:  # no CPU backend (e.g. JAX_PLATFORMS=cuda): nothing lowers for CPU
    return False


def on_host(kernel, out_type: jax.ShapeDtypeStruct, *args: Array) -> Array:
  """Runs ``kernel(out, *args)`` (NumPy arrays) on XLA's own CPU buffers, without copies."""

  def callback(ctx, out, *bufs):
    del ctx
    kernel(np.asarray(out), *(np.asarray(b) for b in bufs))

  return buffer_callback(callback, out_type, vmap_method="sequential")(*args)


def _pool() -> concurrent.futures.ThreadPoolExecutor:
  global _POOL
  if _POOL is None:
    _POOL = concurrent.futures.ThreadPoolExecutor(
      max_workers=os.cpu_count() or 1, thread_name_prefix="asgl_jax_spike_matmul"
    )
  return _POOL


def row_blocks(num_rows: int) -> list[slice]:
  """Contiguous row blocks, one per thread, each at least :data:`MIN_ROWS_PER_THREAD` long."""
  n = max(1, min(os.cpu_count() or 1, num_rows // MIN_ROWS_PER_THREAD))
  bounds = np.linspace(0, num_rows, n + 1).astype(int)
  return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _csr(s: np.ndarray, dtype):
  """The spikes ``s`` (bool or integer counts ``[N, F]``) as SciPy CSR in ``dtype``."""
  import scipy.sparse

  flat = np.flatnonzero(s)
  rows, cols = np.divmod(flat, s.shape[1])
  indptr = np.zeros(s.shape[0] + 1, np.int64)
  np.cumsum(np.bincount(rows, minlength=s.shape[0]), out=indptr[1:])
  data = np.ones(len(cols), dtype) if s.dtype == np.bool_ else s.reshape(-1)[flat].astype(dtype)
  return scipy.sparse.csr_matrix((data, cols.astype(np.int32), indptr), shape=s.shape)


def _map_blocks(fn, num_rows: int) -> list:
  blocks = row_blocks(num_rows)
  if len(blocks) == 1:
    return [fn(blocks[0])]
  return list(_pool().map(fn, blocks))


def _csr_matmul_into(c, w: np.ndarray, out: np.ndarray) -> None:
  """``out[...] = c @ w`` for CSR ``c``, without a temporary when SciPy's kernel is there."""
  try:
    from scipy.sparse import _sparsetools
  except ImportError:  # pragma: no cover - SciPy's private module; the public product remains
    _sparsetools = None
  if _sparsetools is None or not (out.flags.c_contiguous and w.flags.c_contiguous):
    out[...] = c @ w  # pragma: no cover - XLA's CPU buffers are row-major
    return
  out[...] = 0
  n, f = c.shape
  _sparsetools.csr_matvecs(n, f, w.shape[1], c.indptr, c.indices, c.data, w.ravel(), out.ravel())


def mostly_dense(s: np.ndarray) -> bool:
  """More than :data:`DENSE_ABOVE` of ``s`` is nonzero: the dense product is faster."""
  return np.count_nonzero(s) > DENSE_ABOVE * s.size


def host_forward(out: np.ndarray, s: np.ndarray, w: np.ndarray) -> None:
  """``out = s @ w`` on the host: per row block, the sum of the rows of ``w`` that spiked."""
  s = s.reshape(-1, s.shape[-1])
  out = out.reshape(-1, w.shape[1])
  if mostly_dense(s):
    np.matmul(s.astype(w.dtype), w, out=out)
    return
  _map_blocks(lambda b: _csr_matmul_into(_csr(s[b], w.dtype), w, out[b]), s.shape[0])


def host_weight_grad(out: np.ndarray, s: np.ndarray, g: np.ndarray) -> None:
  """``out = sᵀ g`` on the host: per row block, ``g``'s rows added into the inputs that spiked."""
  s = s.reshape(-1, s.shape[-1])
  g = g.reshape(-1, g.shape[-1])
  if mostly_dense(s):
    np.matmul(s.T.astype(g.dtype), g, out=out)
    return
  parts = _map_blocks(lambda b: _csr(s[b], g.dtype).T @ g[b], s.shape[0])
  out[...] = functools.reduce(np.add, parts)


def dense_forward(s: Array, w: Array) -> Array:
  """XLA's ``s @ w`` (what every other platform computes)."""
  return jnp.matmul(s.astype(w.dtype), w)


def _dense_weight_grad(s: Array, g: Array) -> Array:
  s2 = s.reshape(-1, s.shape[-1]).astype(g.dtype)
  return s2.T @ g.reshape(-1, g.shape[-1])


def _forward(s: Array, w: Array) -> Array:
  out = jax.ShapeDtypeStruct((*s.shape[:-1], w.shape[-1]), w.dtype)
  cpu = functools.partial(on_host, host_forward, out)
  return jax.lax.platform_dependent(s, w, cpu=cpu, default=dense_forward)


def _weight_grad(s: Array, g: Array) -> Array:
  out = jax.ShapeDtypeStruct((s.shape[-1], g.shape[-1]), g.dtype)
  cpu = functools.partial(on_host, host_weight_grad, out)
  return jax.lax.platform_dependent(s, g, cpu=cpu, default=_dense_weight_grad)


@jax.custom_vjp
def _event_matmul(s, w):
  return _forward(s, w)


def _event_matmul_fwd(s, w):
  return _forward(s, w), s


def _event_matmul_bwd(s, g):
  # s is data (bool or integer): it has no cotangent.
  return None, _weight_grad(s, g)


_event_matmul.defvjp(_event_matmul_fwd, _event_matmul_bwd)


def spike_matmul(s: Array, w: Array) -> Array:
  """``s.astype(w.dtype) @ w`` for validated spikes ``s [..., F]`` and weights ``w [F, H]``:
  the host kernels where they pay (float32/64, at least :data:`EVENT_DRIVEN_MIN_MACS`, one
  CPU device), XLA's dense matmul otherwise."""
  if (
    buffer_callback is None
    or several_cpu_devices()
    or w.dtype not in (np.float32, np.float64)
    or s.size * w.shape[1] < EVENT_DRIVEN_MIN_MACS
  ):
    return dense_forward(s, w)
  return _event_matmul(s, w)
