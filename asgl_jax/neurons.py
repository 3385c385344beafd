"""Spiking neuron dynamics: LIF, C-LIF and recurrent LIF as pure functions.

Each neuron kind has a single-step function ``(state, inputs) -> (state, spikes)``
and a ``*_scan`` that runs it over the leading time axis with one
``jax.lax.scan``. All tensors are time-major, ``[T, ...]``; the remaining axes
are free (``[T, B, N]``, ``[T, B, H, W, C]``, ...). Nothing here keeps state
between calls: the final state is returned to the caller.

The spike is the ASGL primitive :func:`asgl_jax.spike`; in training mode a
fresh mask is drawn at every time step from ``fold_in(key, t)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from asgl_jax import _checks, spiking
from asgl_jax import fused as fused_lib

Array = jax.Array


class LIFState(NamedTuple):
  """State of LIF neurons after a step: membrane potential ``u[t]`` and spikes ``s[t]``."""

  v: Array
  s: Array


class CLIFState(NamedTuple):
  """State of C-LIF neurons (paper App. A.3).

  ``m``: membrane-kernel trace, ``syn``: synaptic-kernel trace, ``e``: refractory
  (reset) trace, ``s``: spikes of the last step.
  """

  m: Array
  syn: Array
  e: Array
  s: Array


class RecurrentLIFState(NamedTuple):
  """State of recurrent LIF neurons: membrane ``v``, spikes ``s``, synaptic current ``c``."""

  v: Array
  s: Array
  c: Array


def _spike_kwargs(fn, *, key, p, surrogate, train):
  _checks.check_p(fn, p)
  needs_key = train and not (_checks.is_concrete(p) and float(p) in (0.0, 1.0))
  if needs_key and key is None:
    raise ValueError(
      f"{fn}: a PRNG key is required in training mode when 0 < p < 1 or p is traced "
      f"(got p={p!r}); pass key=jax.random.key(...) or use train=False"
    )
  return dict(p=p, surrogate=surrogate, train=train), (key if needs_key else None)


def _in_dtype(x, *constants):
  """Array constants (a learned or traced decay, threshold, ...) in ``x``'s floating dtype, so
  that a bfloat16 scan keeps a bfloat16 carry; Python numbers stay weakly typed."""
  return tuple(
    c if c is None or isinstance(c, (int, float)) else jnp.asarray(c).astype(x.dtype)
    for c in constants
  )


def _reset_gate(s, detach_reset):
  return 1.0 - (jax.lax.stop_gradient(s) if detach_reset else s)


def lif_step(
  state: LIFState,
  current: Array,
  alpha,
  *,
  key=None,
  p=1.0,
  decay=0.5,
  threshold=1.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
) -> tuple[LIFState, Array]:
  """One LIF step (paper Eq. 1–3 with the ASGL spike of Eq. 10).

  ``u[t] = γ·u[t−1]·(1 − s[t−1]) + c[t]``, ``s[t] = spike(u[t] − ϑ)``.

  The hard reset multiplies by the *mixed* ``s[t−1]`` (so an analog
  activation resets softly, paper §4.2) and is differentiated through unless
  ``detach_reset``.

  Args:
    state: ``LIFState(v=u[t−1], s=s[t−1])``.
    current: input current ``c[t]``.
    alpha: width, broadcastable to ``current``.
    key: PRNG key of this time step's mask (see :func:`asgl_jax.spike`).
    p: spike-mode probability.
    decay: leak factor ``γ = 1 − 1/τ``, scalar or array broadcastable to
      ``current`` (may be traced, i.e. learnable).
    threshold: firing threshold ``ϑ``.
    surrogate: forwarding function name.
    train: training (mixed) or evaluation (pure spikes) mode.
    detach_reset: stop the gradient through the reset term.

  Returns:
    ``(new_state, s[t])``.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> state = asgl_jax.LIFState(v=jnp.array([0.5]), s=jnp.array([0.0]))
    >>> state, s = asgl_jax.lif_step(state, jnp.array([0.75]), 1.0, train=False)
    >>> state.v, s                                      # u = 0.5·0.5 + 0.75 = 1 ≥ ϑ
    (Array([1.], dtype=float32), Array([1.], dtype=float32))
  """
  _checks.check_neuron("lif_step", decay=decay, threshold=threshold)
  return _lif_update(
    state,
    current,
    alpha,
    key=key,
    p=p,
    decay=decay,
    threshold=threshold,
    surrogate=surrogate,
    train=train,
    detach_reset=detach_reset,
  )


def _lif_update(state, current, alpha, *, key, p, decay, threshold, surrogate, train, detach_reset):
  """:func:`lif_step` without its argument checks (the scans check once, before the loop)."""
  decay, threshold = _in_dtype(current, decay, threshold)
  v = decay * state.v * _reset_gate(state.s, detach_reset) + current
  s = spiking.spike(v - threshold, alpha, key=key, p=p, surrogate=surrogate, train=train)
  return LIFState(v, s), s


def _time_scan(
  step: Callable[[Any, Any, Any], tuple[Any, Array]],
  init,
  xs,
  key,
  *,
  unroll: int | bool,
  remat: bool,
):
  """Runs ``step(carry, x_t, key_t)`` over the leading axis of ``xs`` with ``lax.scan``."""
  num_steps = jax.tree_util.tree_leaves(xs)[0].shape[0]
  body = jax.checkpoint(step) if remat else step
  # The mask seeds of every step (those of fold_in(key, t)) in one vectorised call before the
  # scan: per-step threefry calls on a batch of keys cost more than the step's own update.
  seeds = None if key is None else spiking.mask_seeds(key, num_steps)

  def scan_fn(carry, inp):
    x_t, seed_t = inp
    return body(carry, x_t, seed_t)

  return jax.lax.scan(scan_fn, init, (xs, seeds), unroll=unroll)


def _check_time_major(fn: str, x: Array) -> Array:
  x = jnp.asarray(x)
  if x.ndim < 1:
    raise ValueError(f"{fn}: inputs need a leading time axis [T, ...], got shape {x.shape}")
  _checks.check_floating(fn, x, "the inputs")
  return x


def lif_scan(
  currents,
  alpha,
  *,
  key=None,
  p=1.0,
  decay=0.5,
  threshold=1.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
  init_state: LIFState | None = None,
  unroll: int | bool = 1,
  remat: bool = False,
  return_potential: bool = False,
  fused: bool = True,
):
  """LIF neurons over time (paper Eq. 1–3, 10): returns spikes and the final state.

  Args:
    currents: input currents ``c``, time-major ``[T, ...]``.
    alpha: width, broadcastable to ``currents.shape[1:]``.
    key: PRNG key for the masks (a fresh mask per time step from
      ``fold_in(key, t)``), or a batch of keys (a prefix of
      ``currents.shape[1:]``, e.g. one per example).
    p, decay, threshold, surrogate, train, detach_reset: see :func:`lif_step`.
    init_state: state before the first step (default ``u[0] = 0``, ``s[0] = 0``).
    unroll: ``lax.scan`` unroll factor. The fused path unrolls sequences of at most
      ``asgl_jax.fused.FULL_UNROLL_MAX_T`` (4) steps completely.
    remat: wrap the step in ``jax.checkpoint`` (recompute it in the backward
      pass instead of storing its intermediates; for long sequences).
    return_potential: also return ``u[t] − ϑ`` for every step (for analysis).
    fused: in training, use the scan with a hand-written backward pass (float32, no
      ``remat``): the same values and gradients as autodiff of :func:`lif_step` (tested),
      fewer ops per step, and only ``u`` stored per step besides the spikes. ``False``
      differentiates the plain scan (what ``remat=True`` and other dtypes use).

  Returns:
    ``(spikes [T, ...], final LIFState)``, plus ``u − ϑ`` ``[T, ...]`` if
    ``return_potential``.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> c = jnp.full((3, 1), 0.75)           # u = 0.75, 1.125 (spike), then reset: 0.75
    >>> spikes, final = asgl_jax.lif_scan(c, 1.0, train=False)
    >>> spikes[:, 0], final.v
    (Array([0., 1., 0.], dtype=float32), Array([0.75], dtype=float32))
  """
  currents = _check_time_major("lif", currents)
  _checks.check_neuron("lif", time_steps=currents.shape[0], decay=decay, threshold=threshold)
  alpha = _checks.check_alpha("lif", alpha, currents.shape[1:])
  kw, key = _spike_kwargs("lif", key=key, p=p, surrogate=surrogate, train=train)
  if init_state is None:
    zeros = jnp.zeros(currents.shape[1:], currents.dtype)
    init_state = LIFState(zeros, zeros)

  if train and fused and not remat and fused_lib.fusable(currents, 0.0):
    spikes, u, v_last, s_last, _ = fused_lib.fused_lif_scan(
      currents,
      None,
      alpha,
      key=key,
      p=p,
      decay=decay,
      threshold=threshold,
      surrogate=surrogate,
      detach_reset=detach_reset,
      v0=init_state.v,
      s0=init_state.s,
      unroll=unroll,
    )
    final = LIFState(v_last, s_last)
    return (spikes, final, u) if return_potential else (spikes, final)

  def step(state, c, key_t):
    new, s = _lif_update(
      state,
      c,
      alpha,
      key=key_t,
      decay=decay,
      threshold=threshold,
      detach_reset=detach_reset,
      **kw,
    )
    return new, (s, new.v - threshold)

  final, (spikes, u) = _time_scan(step, init_state, currents, key, unroll=unroll, remat=remat)
  return (spikes, final, u) if return_potential else (spikes, final)


def lif(
  currents,
  alpha,
  *,
  key=None,
  p=1.0,
  decay=0.5,
  threshold=1.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
  unroll: int | bool = 1,
  remat: bool = False,
) -> Array:
  """LIF spiking neurons over time (paper Eq. 1–3 with the ASGL spike, Eq. 10).

  ``u[t] = γ·u[t−1]·(1 − s[t−1]) + c[t]``, ``s[t] = spike(u[t] − ϑ, α)``,
  ``u[0] = 0``. See :func:`lif_scan` for the arguments and for the final state.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> c = jnp.full((6, 1), 0.6)        # [T, N]; u = 0.6, 0.9, 1.05, 0.6, 0.9, 1.05
    >>> asgl_jax.lif(c, 1.0, train=False)[:, 0]
    Array([0., 0., 1., 0., 0., 1.], dtype=float32)

  Returns:
    Spikes ``[T, ...]`` (binary at evaluation, mixed in training).
  """
  return lif_scan(
    currents,
    alpha,
    key=key,
    p=p,
    decay=decay,
    threshold=threshold,
    surrogate=surrogate,
    train=train,
    detach_reset=detach_reset,
    unroll=unroll,
    remat=remat,
  )[0]


# ----------------------------------------------------------------------------- C-LIF


def clif_norm(beta_m: float, beta_s: float) -> float:
  """Normalisation ``u0`` of the C-LIF kernel (paper App. A.3; Gütig, 2016).

  The response of ``m − syn`` to a unit input at ``t = 0`` is
  ``β_m^k − β_s^k`` at step ``k``; ``u0`` scales its peak to 1.

  Example:
    >>> import asgl_jax
    >>> u0 = asgl_jax.clif_norm(0.9, 0.5)      # peak of 0.9^k − 0.5^k is at k = 3: 0.604
    >>> round(u0, 4), round(1 / (0.9**3 - 0.5**3), 4)
    (1.6556, 1.6556)
  """
  if not (_checks.is_concrete(beta_m) and _checks.is_concrete(beta_s)):
    raise TypeError(
      "clif_norm: beta_m and beta_s must be concrete numbers (u0 is computed from them when "
      "tracing); to trace or learn them, pass u0 explicitly"
    )
  beta_m, beta_s = float(beta_m), float(beta_s)
  if not (0.0 < beta_s < 1.0 and 0.0 < beta_m < 1.0) or beta_m == beta_s:
    raise ValueError(
      f"clif_norm: need 0 < beta_m, beta_s < 1 and beta_m != beta_s, got {beta_m}, {beta_s}"
    )
  # Continuous-time peak of β_m^k − β_s^k, then the best of the two nearest integers.
  lm, ls = math.log(beta_m), math.log(beta_s)
  k_star = math.log(ls / lm) / (lm - ls)
  ks = {max(0, math.floor(k_star)), max(0, math.ceil(k_star))}
  return 1.0 / max(abs(beta_m**k - beta_s**k) for k in ks)


def clif_step(
  state: CLIFState,
  current: Array,
  alpha,
  *,
  key=None,
  p=1.0,
  beta_m=0.9,
  beta_s=0.5,
  u0=None,
  threshold=1.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
) -> tuple[CLIFState, Array]:
  """One C-LIF step (current-based LIF, paper App. A.3, Eq. 27; Gütig 2016).

  ::

      m[t]   = β_m·m[t−1] + c[t]             (membrane kernel)
      syn[t] = β_s·syn[t−1] + c[t]           (synaptic kernel)
      e[t]   = β_m·e[t−1] + ϑ·s[t−1]         (refractory / reset)
      u[t]   = u0·(m[t] − syn[t]) − e[t]
      s[t]   = spike(u[t] − ϑ)

  with ``β = exp(−Δt/τ)``; the double exponential ``m − syn`` models the
  synaptic current and ``u0`` (default :func:`clif_norm`) scales its peak to 1.

  Returns:
    ``(new_state, s[t])``.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> z = jnp.zeros(1)
    >>> state = asgl_jax.CLIFState(z, z, z, z)
    >>> state, s = asgl_jax.clif_step(state, jnp.ones(1), 1.0, u0=3.0, train=False)  # u = 3·(1 − 1)
    >>> state, s = asgl_jax.clif_step(state, z, 1.0, u0=3.0, train=False)  # u = 3·(0.9 − 0.5)
    >>> s
    Array([1.], dtype=float32)
  """
  _checks.check_neuron("clif_step", beta_m=beta_m, beta_s=beta_s, threshold=threshold, u0=u0)
  if u0 is None:
    u0 = clif_norm(beta_m, beta_s)
  return _clif_update(
    state,
    current,
    alpha,
    key=key,
    p=p,
    beta_m=beta_m,
    beta_s=beta_s,
    u0=u0,
    threshold=threshold,
    surrogate=surrogate,
    train=train,
    detach_reset=detach_reset,
  )


def _clif_update(
  state, current, alpha, *, key, p, beta_m, beta_s, u0, threshold, surrogate, train, detach_reset
):
  """:func:`clif_step` without its argument checks (the scans check once, before the loop)."""
  beta_m, beta_s, threshold, u0 = _in_dtype(current, beta_m, beta_s, threshold, u0)
  s_prev = jax.lax.stop_gradient(state.s) if detach_reset else state.s
  m = beta_m * state.m + current
  syn = beta_s * state.syn + current
  e = beta_m * state.e + threshold * s_prev
  u = u0 * (m - syn) - e
  s = spiking.spike(u - threshold, alpha, key=key, p=p, surrogate=surrogate, train=train)
  return CLIFState(m, syn, e, s), s


def clif_scan(
  currents,
  alpha,
  *,
  key=None,
  p=1.0,
  beta_m=0.9,
  beta_s=0.5,
  u0=None,
  threshold=1.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
  init_state: CLIFState | None = None,
  unroll: int | bool = 1,
  remat: bool = False,
  return_potential: bool = False,
):
  """C-LIF neurons over time (paper App. A.3): returns spikes ``[T, ...]`` and the final state
  (and ``u − ϑ`` if ``return_potential``).

  Arguments as :func:`clif_step` and :func:`lif_scan`.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> c = jnp.zeros((3, 1)).at[0].set(1.0)          # one input pulse at t = 0
    >>> spikes, _ = asgl_jax.clif_scan(c, 1.0, u0=3.0, train=False)
    >>> spikes[:, 0]     # u = 0, 3·0.4 = 1.2 (spike), 3·(0.81 − 0.25) − ϑ = 0.68
    Array([0., 1., 0.], dtype=float32)
  """
  currents = _check_time_major("clif", currents)
  _checks.check_neuron(
    "clif",
    time_steps=currents.shape[0],
    beta_m=beta_m,
    beta_s=beta_s,
    threshold=threshold,
    u0=u0,
  )
  alpha = _checks.check_alpha("clif", alpha, currents.shape[1:])
  kw, key = _spike_kwargs("clif", key=key, p=p, surrogate=surrogate, train=train)
  if u0 is None:
    u0 = clif_norm(beta_m, beta_s)
  if init_state is None:
    z = jnp.zeros(currents.shape[1:], currents.dtype)
    init_state = CLIFState(z, z, z, z)

  def step(state, c, key_t):
    new, s = _clif_update(
      state,
      c,
      alpha,
      key=key_t,
      beta_m=beta_m,
      beta_s=beta_s,
      u0=u0,
      threshold=threshold,
      detach_reset=detach_reset,
      **kw,
    )
    return new, (s, u0 * (new.m - new.syn) - new.e - threshold)

  final, (spikes, u) = _time_scan(step, init_state, currents, key, unroll=unroll, remat=remat)
  return (spikes, final, u) if return_potential else (spikes, final)


# ----------------------------------------------------------------------------- recurrent LIF


def recurrent_lif_step(
  state: RecurrentLIFState,
  x: Array,
  recurrent_weight: Array,
  alpha,
  *,
  key=None,
  p=1.0,
  decay=0.5,
  threshold=1.0,
  synapse_decay=0.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
) -> tuple[RecurrentLIFState, Array]:
  """One step of LIF neurons with synaptic recurrence (paper App. A.4, Eq. 28).

  ::

      c[t] = β_syn·c[t−1] + x[t] + s[t−1] @ V      (x[t] = W s^{l−1}[t] + b)
      u[t] = γ·u[t−1]·(1 − s[t−1]) + c[t]
      s[t] = spike(u[t] − ϑ)

  ``β_syn = synapse_decay`` (default 0: ``c[t] = W s^{l−1}[t] + V s^l[t−1] + b``,
  the discrete form used by the paper's SHD network).

  Args:
    state: ``RecurrentLIFState(v, s, c)`` of the previous step; ``s`` is ``[..., N]``.
    x: feedforward input current ``[..., N]``.
    recurrent_weight: ``V`` of shape ``[N, N]`` (row = presynaptic neuron).

  Returns:
    ``(new_state, s[t])``.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> V = jnp.array([[0.0, 1.0], [0.0, 0.0]])    # neuron 0 excites neuron 1
    >>> state = asgl_jax.RecurrentLIFState(v=jnp.zeros(2), s=jnp.array([1.0, 0.0]), c=jnp.zeros(2))
    >>> state, s = asgl_jax.recurrent_lif_step(state, jnp.zeros(2), V, 1.0, train=False)
    >>> state.c, s                                    # c = s[t−1] @ V
    (Array([0., 1.], dtype=float32), Array([0., 1.], dtype=float32))
  """
  _checks.check_neuron(
    "recurrent_lif_step", decay=decay, threshold=threshold, synapse_decay=synapse_decay
  )
  return _recurrent_lif_update(
    state,
    x,
    recurrent_weight,
    alpha,
    key=key,
    p=p,
    decay=decay,
    threshold=threshold,
    synapse_decay=synapse_decay,
    surrogate=surrogate,
    train=train,
    detach_reset=detach_reset,
  )


def _recurrent_lif_update(
  state,
  x,
  recurrent_weight,
  alpha,
  *,
  key,
  p,
  decay,
  threshold,
  synapse_decay,
  surrogate,
  train,
  detach_reset,
):
  """:func:`recurrent_lif_step` without its argument checks (the scans check once)."""
  decay, threshold, synapse_decay, recurrent_weight = _in_dtype(
    x, decay, threshold, synapse_decay, recurrent_weight
  )
  c = synapse_decay * state.c + x + state.s @ recurrent_weight
  v = decay * state.v * _reset_gate(state.s, detach_reset) + c
  s = spiking.spike(v - threshold, alpha, key=key, p=p, surrogate=surrogate, train=train)
  return RecurrentLIFState(v, s, c), s


def recurrent_lif_scan(
  inputs,
  recurrent_weight,
  alpha,
  *,
  key=None,
  p=1.0,
  decay=0.5,
  threshold=1.0,
  synapse_decay=0.0,
  surrogate="rect",
  train: bool = True,
  detach_reset: bool = False,
  init_state: RecurrentLIFState | None = None,
  unroll: int | bool = 1,
  remat: bool = False,
  return_potential: bool = False,
  fused: bool = True,
):
  """Recurrent LIF neurons over time (paper App. A.4): spikes ``[T, ..., N]`` and final state
  (and ``u − ϑ`` if ``return_potential``).

  The recurrent matmul ``s[t−1] @ V`` runs inside the scan; the feedforward
  part ``x = W s^{l−1} + b`` is computed by the caller for all steps at once.
  Arguments as :func:`recurrent_lif_step` and :func:`lif_scan`. With ``fused`` (the default;
  float32, a concrete ``synapse_decay``, no ``remat``) the backward pass is hand-written: its loop
  does only the ``a[t+1] @ Vᵀ`` matmul and ∂L/∂V is one ``[N, T·B] @ [T·B, N]`` matmul after
  it, instead of one outer product per step.

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> V = jnp.array([[0.0, 1.0], [0.0, 0.0]])
    >>> x = jnp.zeros((3, 1, 2)).at[0, 0, 0].set(1.0)  # [T, B, N]: neuron 0 driven at t = 0
    >>> spikes, _ = asgl_jax.recurrent_lif_scan(x, V, 1.0, train=False)
    >>> spikes[:, 0]                                  # the spike travels 0 → 1, then stops
    Array([[1., 0.],
           [0., 1.],
           [0., 0.]], dtype=float32)
  """
  inputs = _check_time_major("recurrent_lif", inputs)
  _checks.check_neuron(
    "recurrent_lif",
    time_steps=inputs.shape[0],
    decay=decay,
    threshold=threshold,
    synapse_decay=synapse_decay,
  )
  alpha = _checks.check_alpha("recurrent_lif", alpha, inputs.shape[1:])
  recurrent_weight = jnp.asarray(recurrent_weight)
  n = inputs.shape[-1] if inputs.ndim >= 2 else None
  if recurrent_weight.shape != (n, n):
    raise ValueError(
      f"recurrent_lif: recurrent_weight must have shape (N, N) = ({n}, {n}) for inputs "
      f"of shape {inputs.shape}, got {recurrent_weight.shape}"
    )
  kw, key = _spike_kwargs("recurrent_lif", key=key, p=p, surrogate=surrogate, train=train)
  if init_state is None:
    z = jnp.zeros(inputs.shape[1:], inputs.dtype)
    init_state = RecurrentLIFState(z, z, z)
  if train and fused and not remat and fused_lib.fusable(inputs, synapse_decay):
    spikes, u, v_last, s_last, c_last = fused_lib.fused_lif_scan(
      inputs,
      recurrent_weight,
      alpha,
      key=key,
      p=p,
      decay=decay,
      threshold=threshold,
      surrogate=surrogate,
      detach_reset=detach_reset,
      v0=init_state.v,
      s0=init_state.s,
      unroll=unroll,
      synapse_decay=synapse_decay,
      c0=init_state.c,
    )
    final = RecurrentLIFState(v_last, s_last, c_last)
    return (spikes, final, u) if return_potential else (spikes, final)

  def step(state, x, key_t):
    new, s = _recurrent_lif_update(
      state,
      x,
      recurrent_weight,
      alpha,
      key=key_t,
      decay=decay,
      threshold=threshold,
      synapse_decay=synapse_decay,
      detach_reset=detach_reset,
      **kw,
    )
    return new, (s, new.v - threshold)

  final, (spikes, u) = _time_scan(step, init_state, inputs, key, unroll=unroll, remat=remat)
  return (spikes, final, u) if return_potential else (spikes, final)
