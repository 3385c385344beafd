"""The fused LIF / recurrent-LIF scan: what trains (float32), equal to the reference scan.

:func:`asgl_jax.lif_scan` and :func:`asgl_jax.recurrent_lif_scan` define the neurons as a
``lax.scan`` of :func:`~asgl_jax.lif_step` (paper Eq. 1–3, 10; App. A.4) and differentiate it
by autodiff: that is the reference. In training, for float32 inputs with a concrete synaptic
decay and without ``remat``, they run this kernel instead: the same forward, whose spike is
:func:`asgl_jax.spiking.spike_value` (the primitive's own Eq. 10 forward), in the same
operation order, so the values are bit-identical, and a hand-written backward pass whose
gradients equal autodiff's up to float rounding (tests/test_neurons.py checks both).

Autodiff of the reference scan accumulates ∂L/∂V inside the backward loop, one ``[N, B]·[B, N]``
outer product per step, plus the elementwise chain of spike, reset and decay as separate small
ops. The backward loop here carries only ∂L/∂v and does the one unavoidable per-step matmul
(``a[t+1] @ Vᵀ``); ∂L/∂V, ∂L/∂γ, ∂L/∂ϑ and ∂L/∂α are formed after the loop from the stacked
per-step terms as single large matmuls and reductions. Residuals: ``u`` and ``s`` per step.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.custom_derivatives import CustomVJPPrimal, SymbolicZero

from asgl_jax import _backend, _checks, spiking
from asgl_jax import surrogate as surrogate_lib

# Sequences this short are unrolled completely, whatever ``unroll`` says: a ``while`` loop's
# carries and stacked outputs are materialised and its body does not fuse with what surrounds
# it, which at T <= 4 costs more than the unrolled body's compile time.
FULL_UNROLL_MAX_T = 4


def fusable(inputs, synapse_decay) -> bool:
  """The fused path covers float32 LIF / recurrent LIF whose synaptic decay is a concrete
  number (not traced: it is not differentiated).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from asgl_jax import fused
    >>> fused.fusable(jnp.zeros((4, 2, 3)), 0.0), fused.fusable(jnp.zeros((4, 2, 3), jnp.bfloat16), 0.0)
    (True, False)
  """
  return _checks.is_concrete(synapse_decay) and inputs.dtype == jnp.float32 and inputs.ndim >= 2


def fused_lif_scan(
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
  synapse_decay=0.0,
  c0=0.0,
):
  """LIF (``recurrent_weight=None``) or recurrent LIF scan with the hand-written backward pass:
  ``(spikes, u − ϑ, final v, final s, final c)``; ``synapse_decay`` ``β`` (a Python number)
  and ``c0`` are the synaptic trace ``c[t] = β·c[t−1] + x[t] + s[t−1] @ V`` of
  :func:`asgl_jax.recurrent_lif_step` (paper Eq. 28).

  Example:
    >>> import jax, jax.numpy as jnp, asgl_jax
    >>> from asgl_jax import fused
    >>> c, key = jax.random.normal(jax.random.key(0), (5, 2, 3)), jax.random.key(1)
    >>> s, u, v, s_last, c_last = fused.fused_lif_scan(
    ...     c, None, 1.0, key=key, p=0.5, decay=0.5, threshold=1.0, surrogate="rect",
    ...     detach_reset=False, v0=0.0, s0=0.0, unroll=1)
    >>> reference, _ = asgl_jax.lif_scan(c, 1.0, key=key, p=0.5, fused=False)
    >>> bool(jnp.array_equal(s, reference))            # the same bits as the reference scan
    True
  """
  sur = surrogate_lib.get_surrogate(surrogate)
  dt = inputs.dtype
  alpha = jnp.asarray(alpha, dt)
  _checks.check_alpha("lif", alpha, inputs.shape[1:])
  if _checks.is_concrete(p) and float(p) in (0.0, 1.0):
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
    jnp.broadcast_to(c0, inputs.shape[1:]).astype(dt),
    masks,
    sur,
    mode,
    bool(detach_reset),
    unroll,
    float(synapse_decay),
  )


def _rlif_forward(x, w, alpha, decay, thr, v0, s0, c0, masks, sur, mode, detach, unroll, beta):
  del detach  # changes only the backward pass

  traced = beta != 0.0  # without a synaptic decay c[t−1] is not needed: not carried

  def step(carry, inp):
    v, s_prev, c_prev = carry
    x_t, m_t = inp
    # The same operation order as lif_step / recurrent_lif_step (the same bits).
    c = beta * c_prev + x_t if traced else x_t
    c = c if w is None else c + s_prev @ w
    v = decay * v * (1.0 - s_prev) + c
    u = v - thr
    s = spiking.spike_value(u, alpha, m_t, sur, mode)
    return (v, s, c if traced else c_prev), (s, u)

  (v, s, c), (spikes, u) = jax.lax.scan(step, (v0, s0, c0), (x, masks), unroll=unroll)
  if not traced:  # c[T−1] = x[T−1] + s[T−2] @ V
    c = x[-1] if w is None else x[-1] + (spikes[-2] if x.shape[0] > 1 else s0) @ w
  return spikes, u, v, s, c


@functools.partial(jax.custom_vjp, nondiff_argnums=(9, 10, 11, 12, 13))
def _rlif_core(x, w, alpha, decay, thr, v0, s0, c0, masks, sur, mode, detach, unroll, beta):
  return _rlif_forward(x, w, alpha, decay, thr, v0, s0, c0, masks, sur, mode, detach, unroll, beta)


def _rlif_core_fwd(x, w, alpha, decay, thr, v0, s0, c0, masks, sur, mode, detach, unroll, beta):
  # symbolic_zeros=True: the differentiable arguments arrive as CustomVJPPrimal (value,
  # perturbed); only the values matter here.
  x, w, alpha, decay, thr, v0, s0, c0, masks = jax.tree_util.tree_map(
    lambda a: a.value,
    (x, w, alpha, decay, thr, v0, s0, c0, masks),
    is_leaf=lambda a: isinstance(a, CustomVJPPrimal),
  )
  out = _rlif_forward(x, w, alpha, decay, thr, v0, s0, c0, masks, sur, mode, detach, unroll, beta)
  spikes, u = out[0], out[1]
  return out, (w, alpha, decay, thr, v0, s0, spikes, u)


def _rlif_core_bwd(sur, mode, detach, unroll, beta, res, cts):
  """Reverse pass. With ``a[t] = ∂L/∂v[t]``, ``b[t] = ∂L/∂s[t]`` and ``e[t] = ∂L/∂c[t]``
  (totals; ``β`` the synaptic decay)::

      b[t] = ḡ_s[t] + e[t+1] @ Vᵀ − [not detach_reset] γ·v[t]·a[t+1]
      a[t] = b[t]·H′(u[t]) + ḡ_u[t] + γ·(1 − s[t])·a[t+1]
      e[t] = a[t] + β·e[t+1]                      (e = a when β = 0)

  then ``∂x[t] = e[t]``, ``∂V = Σ_t s[t−1]ᵀ e[t]`` (one matmul after the loop),
  ``∂γ = Σ a[t]·v[t−1]·(1 − s[t−1])``, ``∂ϑ = −Σ (b[t]·H′(u[t]) + ḡ_u[t])`` and
  ``∂α = Σ b[t]·∂H/∂α(u[t])`` (accumulated in the loop, reduced to their shapes).
  """
  del mode
  w, alpha, decay, thr, v0, s0, spikes, u = res
  # Unused outputs (usually u, and the final state) come as symbolic zeros: no [T, ...] array
  # of zeros is built or streamed through the loop for them.
  g_s, g_u, g_v, g_sl, g_cl = (None if isinstance(c, SymbolicZero) else c for c in cts)
  g_s = jnp.zeros_like(spikes) if g_s is None else g_s
  if g_sl is not None:
    g_s = g_s.at[-1].add(g_sl)
  alpha_b = jnp.broadcast_to(alpha, u.shape[1:])
  wt = None if w is None else w.T
  last = u.shape[0] - 1

  def step(carry, inp):
    a_next, e_next, acc_decay, acc_thr, acc_alpha = carry
    t, g_s_t, g_u_t, u_t, s_t = inp
    v_t = u_t + thr
    b = g_s_t if wt is None else g_s_t + e_next @ wt
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
    e = a if beta == 0.0 else a + beta * e_next
    if g_cl is not None:
      e = e + jnp.where(t == last, g_cl, 0.0)  # the final c is c[T−1]
    # Elementwise accumulators, reduced to the parameters' shapes once after the loop: a
    # per-step reduction is a kernel of its own on every one of the T steps.
    acc_decay = acc_decay + a_next * v_t * (1.0 - s_t)
    acc_thr = acc_thr + direct
    acc_alpha = acc_alpha + b * dh_da
    return (a, e, acc_decay, acc_thr, acc_alpha), e

  zeros = jnp.zeros_like(u[0])
  xs = (jnp.arange(u.shape[0]), g_s, g_u, u, spikes)
  (a0, e0, g_decay, g_thr, g_alpha), e = jax.lax.scan(
    step, (zeros, zeros, zeros, zeros, zeros), xs, reverse=True, unroll=unroll
  )
  g_thr = _backend.param_grad_sum(g_thr, thr.shape)
  g_alpha = _backend.param_grad_sum(g_alpha, alpha.shape)
  n = u.shape[-1]
  g_w = None
  if w is not None:
    g_w = s0.reshape(-1, n).T @ e0.reshape(-1, n)
    if u.shape[0] > 1:
      g_w = g_w + spikes[:-1].reshape(-1, n).T @ e[1:].reshape(-1, n)
  # ∂γ's t = 0 term (the initial state) joins the loop's accumulator: one sum, not two.
  g_decay = _backend.param_grad_sum(g_decay + a0 * v0 * (1.0 - s0), decay.shape)
  g_v0 = decay * (1.0 - s0) * a0
  g_s0 = jnp.zeros_like(a0) if wt is None else e0 @ wt
  if not detach:
    g_s0 = g_s0 - decay * v0 * a0
  g_c0 = beta * e0
  return e, g_w, g_alpha, g_decay, -g_thr, g_v0, g_s0, g_c0, None


_rlif_core.defvjp(_rlif_core_fwd, _rlif_core_bwd, symbolic_zeros=True)
