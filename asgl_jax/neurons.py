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

import functools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_derivatives import CustomVJPPrimal as _CustomVJPPrimal
from jax.custom_derivatives import SymbolicZero as _SymbolicZero

from asgl_jax import spiking
from asgl_jax import surrogate as surrogate_lib

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
  spiking._check_p(fn, p)
  needs_key = train and not (spiking._is_concrete(p) and float(p) in (0.0, 1.0))
  if needs_key and key is None:
    raise ValueError(
      f"{fn}: a PRNG key is required in training mode when 0 < p < 1 or p is traced "
      f"(got p={p!r}); pass key=jax.random.key(...) or use train=False"
    )
  return dict(p=p, surrogate=surrogate, train=train), (key if needs_key else None)


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
  """
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
  spiking._check_floating(fn, x)
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
      ``FULL_UNROLL_MAX_T`` (4) steps completely.
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
  """
  currents = _check_time_major("lif", currents)
  kw, key = _spike_kwargs("lif", key=key, p=p, surrogate=surrogate, train=train)
  if init_state is None:
    zeros = jnp.zeros(currents.shape[1:], currents.dtype)
    init_state = LIFState(zeros, zeros)

  if train and fused and not remat and _fusable(currents, 0.0):
    spikes, u, v_last, s_last = _fused_lif_scan(
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
    new, s = lif_step(
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
  """
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
  """
  if u0 is None:
    u0 = clif_norm(beta_m, beta_s)
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
  """
  currents = _check_time_major("clif", currents)
  kw, key = _spike_kwargs("clif", key=key, p=p, surrogate=surrogate, train=train)
  if u0 is None:
    u0 = clif_norm(beta_m, beta_s)
  if init_state is None:
    z = jnp.zeros(currents.shape[1:], currents.dtype)
    init_state = CLIFState(z, z, z, z)

  def step(state, c, key_t):
    new, s = clif_step(
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
  """
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
  float32, ``synapse_decay = 0``, no ``remat``) the backward pass is hand-written: its loop
  does only the ``a[t+1] @ Vᵀ`` matmul and ∂L/∂V is one ``[N, T·B] @ [T·B, N]`` matmul after
  it, instead of one outer product per step.
  """
  inputs = _check_time_major("recurrent_lif", inputs)
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
  if train and fused and not remat and _fusable(inputs, synapse_decay):
    spikes, u, v_last, s_last = _fused_lif_scan(
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
    )
    s_before_last = spikes[-2] if inputs.shape[0] > 1 else init_state.s.astype(inputs.dtype)
    c_last = inputs[-1] + s_before_last @ recurrent_weight.astype(inputs.dtype)
    final = RecurrentLIFState(v_last, s_last, c_last)
    return (spikes, final, u) if return_potential else (spikes, final)

  def step(state, x, key_t):
    new, s = recurrent_lif_step(
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


# ----------------------------------------------------------------------------- fused recurrent scan
#
# Autodiff of the scan above accumulates ∂L/∂V inside the backward loop: one [N, B]·[B, N]
# outer product per step, plus the elementwise chain of spike, reset and decay as separate
# small ops. The fused path below has the same forward (values bit-identical) and a hand-written
# backward: the reverse loop carries only ∂L/∂v and does the one unavoidable per-step matmul
# (a[t+1] @ Vᵀ); ∂L/∂V, ∂L/∂γ, ∂L/∂ϑ and ∂L/∂α are formed after the loop from the stacked
# per-step terms as single large matmuls / reductions. Residuals: u and s per step.


# Sequences this short are unrolled completely in the fused path, whatever ``unroll`` says.
# XLA:CPU runs a ``while`` loop with its stacked outputs and carries materialised (zero-filled,
# then copied) and the loop body's ops unfused with what surrounds it; on a T = 2 conv net
# (workload B of benchmarks/snn_training.py) that was ~100 ms of a ~940 ms step, 8 % of it,
# and 6 % at T = 4. At T = 8 unrolling gained nothing and compiled 4 s longer.
FULL_UNROLL_MAX_T = 4


def _fusable(inputs, synapse_decay) -> bool:
  """The fused path covers float32 LIF / recurrent LIF without a synaptic trace."""
  return (
    spiking._is_concrete(synapse_decay)
    and float(synapse_decay) == 0.0
    and inputs.dtype == jnp.float32
    and inputs.ndim >= 2
  )


def _fused_lif_scan(
  inputs,
  recurrent_weight,
  alpha,
  *,
  key,
  p,
  decay,
  threshold,
  surrogate,
  detach_reset,
  v0,
  s0,
  unroll,
):
  """LIF (``recurrent_weight=None``) or recurrent LIF scan with the hand-written backward pass:
  ``(spikes, u − ϑ, final v, final s)``."""
  sur = surrogate_lib.get_surrogate(surrogate)
  dt = inputs.dtype
  alpha = jnp.asarray(alpha, dt)
  spiking._check_alpha("lif", alpha, inputs.shape[1:])
  if spiking._is_concrete(p) and float(p) in (0.0, 1.0):
    mode, masks = ("spike" if float(p) == 1.0 else "analog"), None
  else:
    mode = "mask"
    seeds = spiking.mask_seeds(key, inputs.shape[0])
    masks = jax.vmap(lambda w: spiking.sample_mask(spiking.MaskSeed(w), p, inputs.shape[1:]))(
      seeds.words
    )
  w = None if recurrent_weight is None else recurrent_weight.astype(dt)
  if inputs.shape[0] <= FULL_UNROLL_MAX_T:
    unroll = True
  return _rlif_core(
    inputs,
    w,
    alpha,
    jnp.asarray(decay, dt),
    jnp.asarray(threshold, dt),
    jnp.broadcast_to(v0, inputs.shape[1:]).astype(dt),
    jnp.broadcast_to(s0, inputs.shape[1:]).astype(dt),
    masks,
    sur,
    mode,
    bool(detach_reset),
    unroll,
  )


def _rlif_forward(x, w, alpha, decay, thr, v0, s0, masks, sur, mode, detach, unroll):
  del detach  # changes only the backward pass

  def step(carry, inp):
    v, s_prev = carry
    x_t, m_t = inp
    # The same operation order as lif_step / recurrent_lif_step (the same bits).
    c = x_t if w is None else x_t + s_prev @ w
    v = decay * v * (1.0 - s_prev) + c
    u = v - thr
    if mode == "spike":
      s = (u >= 0).astype(u.dtype)
    else:
      h = sur.forward(u, alpha).astype(u.dtype)
      s = h if mode == "analog" else jnp.where(m_t, (u >= 0).astype(u.dtype), h)
    return (v, s), (s, u)

  (v, s), (spikes, u) = jax.lax.scan(step, (v0, s0), (x, masks), unroll=unroll)
  return spikes, u, v, s


@functools.partial(jax.custom_vjp, nondiff_argnums=(8, 9, 10, 11))
def _rlif_core(x, w, alpha, decay, thr, v0, s0, masks, sur, mode, detach, unroll):
  return _rlif_forward(x, w, alpha, decay, thr, v0, s0, masks, sur, mode, detach, unroll)


def _rlif_core_fwd(x, w, alpha, decay, thr, v0, s0, masks, sur, mode, detach, unroll):
  # symbolic_zeros=True: the differentiable arguments arrive as CustomVJPPrimal (value,
  # perturbed); only the values matter here.
  x, w, alpha, decay, thr, v0, s0, masks = jax.tree_util.tree_map(
    lambda a: a.value,
    (x, w, alpha, decay, thr, v0, s0, masks),
    is_leaf=lambda a: isinstance(a, _CustomVJPPrimal),
  )
  out = _rlif_forward(x, w, alpha, decay, thr, v0, s0, masks, sur, mode, detach, unroll)
  spikes, u = out[0], out[1]
  return out, (w, alpha, decay, thr, v0, s0, spikes, u)


def _rlif_core_bwd(sur, mode, detach, unroll, res, cts):
  """Reverse pass. With ``a[t] = ∂L/∂v[t]`` and ``b[t] = ∂L/∂s[t]`` (totals)::

      b[t] = ḡ_s[t] + a[t+1] @ Vᵀ − [not detach_reset] γ·v[t]·a[t+1]
      a[t] = b[t]·H′(u[t]) + ḡ_u[t] + γ·(1 − s[t])·a[t+1]

  then ``∂x[t] = a[t]``, ``∂V = Σ_t s[t−1]ᵀ a[t]`` (one matmul after the loop),
  ``∂γ = Σ a[t]·v[t−1]·(1 − s[t−1])``, ``∂ϑ = −Σ (b[t]·H′(u[t]) + ḡ_u[t])`` and
  ``∂α = Σ b[t]·∂H/∂α(u[t])`` (accumulated in the loop, reduced to their shapes).
  """
  del mode
  w, alpha, decay, thr, v0, s0, spikes, u = res
  # Unused outputs (usually u, and the final state) come as symbolic zeros: no [T, ...] array
  # of zeros is built or streamed through the loop for them.
  g_s, g_u, g_v, g_sl = (None if isinstance(c, _SymbolicZero) else c for c in cts)
  g_s = jnp.zeros_like(spikes) if g_s is None else g_s
  if g_sl is not None:
    g_s = g_s.at[-1].add(g_sl)
  alpha_b = jnp.broadcast_to(alpha, u.shape[1:])
  wt = None if w is None else w.T
  last = u.shape[0] - 1

  def step(carry, inp):
    a_next, acc_decay, acc_thr, acc_alpha = carry
    t, g_s_t, g_u_t, u_t, s_t = inp
    v_t = u_t + thr
    b = g_s_t if wt is None else g_s_t + a_next @ wt
    if not detach:
      b = b - decay * v_t * a_next
    dh_du, dh_da = sur.grad(u_t, alpha_b)
    bh = b * dh_du
    a = bh + decay * (1.0 - s_t) * a_next
    direct = bh if g_u_t is None else bh + g_u_t  # ∂L/∂u[t] through s[t] and the u output
    if g_u_t is not None:
      a = a + g_u_t
    if g_v is not None:
      a = a + jnp.where(t == last, g_v, 0.0)  # the final v is v[T−1]
    # Elementwise accumulators, reduced to the parameters' shapes once after the loop: a
    # per-step reduction is a kernel of its own on every one of the T steps.
    acc_decay = acc_decay + a_next * v_t * (1.0 - s_t)
    acc_thr = acc_thr + direct
    acc_alpha = acc_alpha + b * dh_da
    return (a, acc_decay, acc_thr, acc_alpha), a

  zeros = jnp.zeros_like(u[0])
  xs = (jnp.arange(u.shape[0]), g_s, g_u, u, spikes)
  (a0, g_decay, g_thr, g_alpha), a = jax.lax.scan(
    step, (zeros, zeros, zeros, zeros), xs, reverse=True, unroll=unroll
  )
  g_thr = spiking._grad_sum_to_shape(g_thr, thr.shape)
  g_alpha = spiking._grad_sum_to_shape(g_alpha, alpha.shape)
  n = u.shape[-1]
  g_w = None
  if w is not None:
    g_w = s0.reshape(-1, n).T @ a0.reshape(-1, n)
    if u.shape[0] > 1:
      g_w = g_w + spikes[:-1].reshape(-1, n).T @ a[1:].reshape(-1, n)
  # ∂γ's t = 0 term (the initial state) joins the loop's accumulator: one sum, not two.
  g_decay = spiking._grad_sum_to_shape(g_decay + a0 * v0 * (1.0 - s0), decay.shape)
  g_v0 = decay * (1.0 - s0) * a0
  g_s0 = jnp.zeros_like(a0) if wt is None else a0 @ wt
  if not detach:
    g_s0 = g_s0 - decay * v0 * a0
  return a, g_w, g_alpha, g_decay, -g_thr, g_v0, g_s0, None


_rlif_core.defvjp(_rlif_core_fwd, _rlif_core_bwd, symbolic_zeros=True)
