"""Parameter-gradient sums as a matrix product on XLA:CPU."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from asgl_jax._backend import sum_to_shape


def param_grad_sum(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:
  """``sum_to_shape(x, shape)``, lowered for the CPU as ``ones[2, M] @ x[M, C]`` (first row).

  XLA:CPU hands a plain reduction to YNNPACK, whose fusion takes in the multiplies and adds
  producing the summand but not its selects and compares, so XLA writes each of those inputs
  out as a tensor of its own to feed it. A matrix product has one operand, which XLA computes
  in one fusion. Two rows, because XLA turns a matrix-vector product back into a reduction.
  Other lowering platforms get ``jnp.sum``; shapes other than a scalar or the trailing axes of
  ``x`` fall back to it too.
  """
  shape = tuple(shape)
  lead = x.ndim - len(shape)
  if x.ndim < 2 or lead <= 0 or x.shape[lead:] != shape:
    return sum_to_shape(x, shape)

  def cpu(x):
    flat = x.reshape(-1, math.prod(shape) if shape else x.shape[-1])
    rows = jnp.ones((2, flat.shape[0]), flat.dtype) @ flat
    return (rows[0] if shape else jnp.sum(rows[0])).reshape(shape)

  return jax.lax.platform_dependent(x, cpu=cpu, default=lambda x: sum_to_shape(x, shape))
