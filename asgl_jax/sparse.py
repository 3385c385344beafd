"""Synaptic currents of spike inputs: ``spike_matmul`` (paper Eq. 1).

A layer fed with spikes computes the synaptic current ``c[t] = W s^{l−1}[t]`` of the LIF
charge equation (paper Eq. 1; App. A.4 for the recurrent layer). :func:`spike_matmul` takes
the spikes as bool or integer counts, which is what lets a backend skip the zeros: on GPU and
TPU it is the ordinary dense matmul, which those chips run at full speed; in a process that
computes on the CPU, large sparse products run event-driven (:mod:`asgl_jax.cpu.event_matmul`:
each output row sums only the rows of ``W`` whose input spiked).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from asgl_jax import _backend

Array = jax.Array


def spike_matmul(s: Array, w: Array) -> Array:
  """The synaptic current ``W s`` of spikes ``s`` (paper Eq. 1).

  Args:
    s: spikes ``[..., F]`` (e.g. ``[T, B, F]`` or ``[N, F]``) as **bool**, or as integer
      spike counts (a dataset's binned events). The integer dtype is the contract that the
      input is spikes, not real values: cast 0/1 float spikes with ``s > 0``, or keep a
      dataset's spikes as bool/uint8 (4× less memory than float32).
    w: weights ``[F, H]``, floating point.

  Returns:
    ``s.astype(w.dtype) @ w``, shape ``[..., H]``, dtype ``w.dtype``. Differentiable with
    respect to ``w``; ``s`` is data and gets no gradient. On CPU, large sparse products cost
    one vector add per spike instead of a dense ``F``-long dot product per output row; the
    values match the dense product up to float summation order.

  Example:
    >>> import jax.numpy as jnp, asgl_jax
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
  return _backend.spike_matmul(s, w)
