"""Argument checks shared by the primitive and the neuron scans (clear errors before tracing)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_RUNTIME = [False]  # asgl_jax.runtime_checks() turns on checkify checks of traced values


def is_concrete(x) -> bool:
  """Whether ``x`` is a value known at trace time (not a tracer)."""
  return not isinstance(x, jax.core.Tracer)


def set_runtime_checks(enabled: bool) -> bool:
  """Turns the checkify checks of traced values on or off; returns the previous setting."""
  previous, _RUNTIME[0] = _RUNTIME[0], bool(enabled)
  return previous


def _traced_check(x, ok, msg: str) -> None:
  """Under :func:`asgl_jax.runtime_checks`, a ``checkify`` check that ``ok(x)`` holds for a
  traced ``x`` (raised by ``err.throw()`` of a ``checkify.checkify``-ed function)."""
  if _RUNTIME[0] and not is_concrete(x):
    from jax.experimental import checkify

    checkify.check(jnp.all(ok(x)), msg)


def check_floating(fn: str, u, name: str = "u") -> None:
  if not jnp.issubdtype(u.dtype, jnp.floating):
    raise TypeError(f"{fn}: {name} must be a floating-point array, got dtype {u.dtype}")


def check_alpha(fn: str, alpha, u_shape: tuple[int, ...]):
  """``alpha`` as an array after checking that it is real (integers become floats: a width of
  1 is 1.0; booleans and complex numbers are a ``TypeError``), broadcasts to ``u_shape`` and,
  where concrete, is > 0, finite and normal."""
  alpha = jnp.asarray(alpha)
  if jnp.issubdtype(alpha.dtype, jnp.integer):
    alpha = alpha.astype(jnp.result_type(float))
  if not jnp.issubdtype(alpha.dtype, jnp.floating):
    raise TypeError(f"{fn}: alpha must be a real number or array, got dtype {alpha.dtype}")
  try:
    out = jnp.broadcast_shapes(alpha.shape, u_shape)
  except ValueError:
    out = None
  if out != tuple(u_shape):
    raise ValueError(
      f"{fn}: alpha of shape {alpha.shape} does not broadcast to u's shape {tuple(u_shape)}"
    )
  tiny_t = float(jnp.finfo(alpha.dtype).tiny)
  _traced_check(
    alpha,
    lambda a: jnp.isfinite(a) & (a >= tiny_t),
    f"{fn}: alpha (the width) must be finite and >= {tiny_t:.3g}",
  )
  if is_concrete(alpha):
    a = np.asarray(alpha)
    if not np.all(a > 0):  # also catches NaN
      raise ValueError(f"{fn}: alpha (the width) must be > 0, got min {a.min()!r}")
    tiny = np.finfo(a.dtype).tiny
    if not np.all(np.isfinite(a)) or not np.all(a >= tiny):  # inf, or subnormal: 1/α overflows
      raise ValueError(
        f"{fn}: alpha (the width) must be finite and at least {tiny:.3g} (a normal "
        f"{a.dtype} number), got {a.min()!r} .. {a.max()!r}"
      )
  return alpha


def check_neuron(fn: str, *, time_steps: int | None = None, **params) -> None:
  """Neuron constants, where concrete: decays (``decay``, ``synapse_decay``, ``beta_m``,
  ``beta_s``) in ``[0, 1]``, ``threshold`` and ``u0`` finite; ``time_steps`` >= 1."""
  if time_steps is not None and time_steps < 1:
    raise ValueError(f"{fn}: need at least one time step, got T = {time_steps}")
  for name, value in params.items():
    if value is None:
      continue
    if not is_concrete(value):
      if name in ("threshold", "u0"):
        _traced_check(value, jnp.isfinite, f"{fn}: {name} must be finite")
      else:
        _traced_check(value, lambda v: (v >= 0) & (v <= 1), f"{fn}: {name} must be in [0, 1]")
      continue
    v = np.asarray(value, np.float64)
    if name in ("threshold", "u0"):
      if not np.all(np.isfinite(v)):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    elif not np.all((v >= 0.0) & (v <= 1.0)):  # NaN fails too
      raise ValueError(f"{fn}: {name} must be in [0, 1], got {value!r}")


def check_p(fn: str, p) -> None:
  """``p`` is a scalar and, where concrete, in ``[0, 1]``."""
  if is_concrete(p):
    pa = np.asarray(p)
    if pa.shape != ():
      raise ValueError(f"{fn}: p must be a scalar, got shape {pa.shape}")
    if not 0.0 <= float(pa) <= 1.0:
      raise ValueError(f"{fn}: p (the spike-mode probability) must be in [0, 1], got {float(pa)!r}")
  elif jnp.shape(p) != ():
    raise ValueError(f"{fn}: p must be a scalar, got shape {jnp.shape(p)}")
  else:
    _traced_check(
      p, lambda q: (q >= 0) & (q <= 1), f"{fn}: p (the spike-mode probability) must be in [0, 1]"
    )


def static_p(p) -> float | None:
  """``p`` as a float when it is concrete and 0 or 1 (no mask is ever sampled), else ``None``."""
  if is_concrete(p) and float(p) in (0.0, 1.0):
    return float(p)
  return None
