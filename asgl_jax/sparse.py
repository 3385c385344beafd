"""Event-driven synaptic currents for spike inputs.

A layer fed with spikes computes the synaptic current ``c[t] = W s^{l−1}[t]`` of the LIF
charge equation (paper Eq. 1; App. A.4 for the recurrent layer). When ``s`` is binary and
sparse, as spike-train datasets are (SHD: about 2 % of the 700 inputs spike per bin), most
of the dense matmul's multiply-adds are with zeros. :func:`spike_matmul` skips them on the
CPU backend: each output row sums only the rows of ``W`` whose input spiked, and the weight
gradient ``∂W = sᵀ g`` adds ``g``'s rows only into the inputs that spiked. On GPU and TPU
(and any other backend) it lowers to the ordinary dense matmul, which those chips run at
full speed; the choice is made per platform at lowering time (``lax.platform_dependent``),
so one jitted function serves every backend and the accelerator path is unchanged.

The CPU kernels are SciPy's compressed-sparse-row products on row blocks in parallel
threads, called through ``jax.experimental.buffer_callback`` so that they read and write
XLA's own buffers without copies. Inputs with more than ``DENSE_ABOVE`` nonzeros are
multiplied densely (NumPy) inside the same callback; products smaller than
``EVENT_DRIVEN_MIN_MACS`` multiply-adds (known from the shapes at trace time) stay with
XLA's dense matmul. The values are those of the dense
product up to float summation order.

Limits: XLA's SPMD partitioner does not partition a host callback (under a multi-device CPU
mesh every device would run it on the gathered batch), so in a process with more than one
CPU device (``--xla_force_host_platform_device_count``) the product is XLA's dense matmul,
which XLA partitions. Code containing the callback cannot be serialised with ``jax.export``
for the CPU platform (export for GPU/TPU lowers the dense branch only). A JAX without
``jax.experimental.buffer_callback`` gets the dense product on every backend.
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
_MIN_ROWS_PER_THREAD = 2048
# Above this fraction of nonzero inputs the host kernels multiply densely (NumPy's BLAS): the
# sparse product's cost grows with the spike count, the dense one's does not. On a 2-core x86
# CPU the sparse product loses to XLA's dense matmul from 7-8 % up and to NumPy's (which also
# casts the spikes to float) from about 10 % (benchmarks/spike_matmul.py).
DENSE_ABOVE = 0.1
# Below this many multiply-adds (rows × F × H) the dense matmul is used on CPU as well: the
# host call's fixed cost (thread hand-off, CSR set-up) outweighs what the spikes save. The
# Randman network's 6400 × 100 × 128 input layer (82 M) trained 13–45 % slower end to end
# with the host kernels; SHD's (≥ 2.7 G at B ≥ 64) trains 1.4× faster.
EVENT_DRIVEN_MIN_MACS = 500_000_000
_POOL: concurrent.futures.ThreadPoolExecutor | None = None


@functools.cache
def _several_cpu_devices() -> bool:
  """More than one CPU device: host callbacks would run on the gathered batch on each."""
  try:
    return len(jax.devices("cpu")) > 1
  except RuntimeError:  # no CPU backend (e.g. JAX_PLATFORMS=cuda): nothing lowers for CPU
    return False


def _pool() -> concurrent.futures.ThreadPoolExecutor:
  global _POOL
  if _POOL is None:
    _POOL = concurrent.futures.ThreadPoolExecutor(
      max_workers=os.cpu_count() or 1, thread_name_prefix="asgl_jax_spike_matmul"
    )
  return _POOL


def _blocks(num_rows: int) -> list[slice]:
  n = max(1, min(os.cpu_count() or 1, num_rows // _MIN_ROWS_PER_THREAD))
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
  blocks = _blocks(num_rows)
  if len(blocks) == 1:
    return [fn(blocks[0])]
  return list(_pool().map(fn, blocks))


def _csr_matmul_into(c, w: np.ndarray, out: np.ndarray) -> None:
  """``out[...] = c @ w`` for CSR ``c``, without a temporary when SciPy's kernel is there."""
  try:
    from scipy.sparse import _sparsetools
  except ImportError:  # pragma: no cover - private module; the public product is the fallback
    _sparsetools = None
  if _sparsetools is None or not (out.flags.c_contiguous and w.flags.c_contiguous):
    out[...] = c @ w  # pragma: no cover - XLA's CPU buffers are row-major
    return
  out[...] = 0
  n, f = c.shape
  _sparsetools.csr_matvecs(n, f, w.shape[1], c.indptr, c.indices, c.data, w.ravel(), out.ravel())


def _mostly_dense(s: np.ndarray) -> bool:
  return np.count_nonzero(s) > DENSE_ABOVE * s.size


def _host_forward(out: np.ndarray, s: np.ndarray, w: np.ndarray) -> None:
  """``out = s @ w`` on the host: per row block, the sum of the rows of ``w`` that spiked."""
  s = s.reshape(-1, s.shape[-1])
  out = out.reshape(-1, w.shape[1])
  if _mostly_dense(s):
    np.matmul(s.astype(w.dtype), w, out=out)
    return
  _map_blocks(lambda b: _csr_matmul_into(_csr(s[b], w.dtype), w, out[b]), s.shape[0])


def _host_weight_grad(out: np.ndarray, s: np.ndarray, g: np.ndarray) -> None:
  """``out = sᵀ g`` on the host: per row block, ``g``'s rows added into the inputs that spiked."""
  s = s.reshape(-1, s.shape[-1])
  g = g.reshape(-1, g.shape[-1])
  if _mostly_dense(s):
    np.matmul(s.T.astype(g.dtype), g, out=out)
    return
  parts = _map_blocks(lambda b: _csr(s[b], g.dtype).T @ g[b], s.shape[0])
  out[...] = functools.reduce(np.add, parts)


def _on_host(kernel, out_type: jax.ShapeDtypeStruct, *args: Array) -> Array:
  """Runs ``kernel(out, *args)`` (NumPy arrays) on XLA's own CPU buffers, without copies."""

  def callback(ctx, out, *bufs):
    del ctx
    kernel(np.asarray(out), *(np.asarray(b) for b in bufs))

  return buffer_callback(callback, out_type, vmap_method="sequential")(*args)


def _dense_forward(s: Array, w: Array) -> Array:
  return jnp.matmul(s.astype(w.dtype), w)


def _dense_weight_grad(s: Array, g: Array) -> Array:
  s2 = s.reshape(-1, s.shape[-1]).astype(g.dtype)
  return s2.T @ g.reshape(-1, g.shape[-1])


def _forward(s: Array, w: Array) -> Array:
  out = jax.ShapeDtypeStruct((*s.shape[:-1], w.shape[-1]), w.dtype)
  cpu = functools.partial(_on_host, _host_forward, out)
  return jax.lax.platform_dependent(s, w, cpu=cpu, default=_dense_forward)


def _weight_grad(s: Array, g: Array) -> Array:
  out = jax.ShapeDtypeStruct((s.shape[-1], g.shape[-1]), g.dtype)
  cpu = functools.partial(_on_host, _host_weight_grad, out)
  return jax.lax.platform_dependent(s, g, cpu=cpu, default=_dense_weight_grad)


@jax.custom_vjp
def _spike_matmul(s, w):
  return _forward(s, w)


def _spike_matmul_fwd(s, w):
  return _forward(s, w), s


def _spike_matmul_bwd(s, g):
  # s is data (bool or integer): it has no cotangent.
  return None, _weight_grad(s, g)


_spike_matmul.defvjp(_spike_matmul_fwd, _spike_matmul_bwd)


def spike_matmul(s: Array, w: Array) -> Array:
  """The synaptic current ``W s`` of spikes ``s`` (paper Eq. 1), event-driven on CPU.

  Args:
    s: spikes ``[..., F]`` (e.g. ``[T, B, F]`` or ``[N, F]``) as **bool**, or as integer
      spike counts (a dataset's binned events). The integer dtype is the contract that the
      input is spikes, not real values: cast 0/1 float spikes with ``s > 0``, or keep a
      dataset's spikes as bool/uint8 (4× less memory than float32).
    w: weights ``[F, H]`` (float32 or float64 for the event-driven path; other float dtypes
      take the dense matmul on every backend).

  Returns:
    ``s.astype(w.dtype) @ w``, shape ``[..., H]``, dtype ``w.dtype``. Differentiable with
    respect to ``w``; ``s`` is data and gets no gradient.

  On CPU the forward product and the weight gradient ``sᵀ g`` cost one vector add per
  spike instead of a dense ``F``-long dot product per output row: at SHD's 2 % input
  density, 2–3× faster than XLA's matmul for forward + weight gradient, 3–8× at 0.5 %
  (benchmarks/spike_matmul.py). Above ``DENSE_ABOVE`` (10 %) nonzeros, and for products of
  fewer than ``EVENT_DRIVEN_MIN_MACS`` multiply-adds, it multiplies densely. On GPU/TPU it is
  the dense matmul. Values match the dense product up to float summation order.

  Example:
    >>> s = jnp.array([[True, False, True]])
    >>> w = jnp.arange(6.0).reshape(3, 2)
    >>> asgl_jax.spike_matmul(s, w)
    Array([[4., 6.]], dtype=float32)
  """
  s, w = jnp.asarray(s), jnp.asarray(w)
  if not (s.dtype == jnp.bool_ or jnp.issubdtype(s.dtype, jnp.integer)):
    raise TypeError(
      f"spike_matmul: s must be bool or integer spikes, got dtype {s.dtype} "
      "(use `s > 0` for 0/1 float spikes, or a plain matmul for real-valued inputs)"
    )
  if w.ndim != 2 or s.ndim < 1 or s.shape[-1] != w.shape[0]:
    raise ValueError(
      f"spike_matmul: needs s [..., F] and w [F, H] with matching F, got {s.shape} and {w.shape}"
    )
  if not jnp.issubdtype(w.dtype, jnp.floating):
    raise TypeError(f"spike_matmul: w must be floating-point, got dtype {w.dtype}")
  if (
    buffer_callback is None
    or _several_cpu_devices()
    or w.dtype not in (np.float32, np.float64)
    or s.size * w.shape[1] < EVENT_DRIVEN_MIN_MACS
  ):
    return _dense_forward(s, w)
  return _spike_matmul(s, w)
