"""Neuron dynamics against hand-computed traces and an independent Python-loop reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asgl_jax


def test_lif_eval_trace():
  # γ = 0.5, ϑ = 1, c = 0.6: u = 0.6, 0.9, 1.05 (spike, reset), 0.6, 0.9, 1.05
  c = jnp.full((6, 1), 0.6)
  s, final = asgl_jax.lif_scan(c, 1.0, train=False)
  np.testing.assert_array_equal(s[:, 0], [0, 0, 1, 0, 0, 1])
  np.testing.assert_allclose(final.v, [1.05], rtol=1e-6)
  np.testing.assert_array_equal(final.s, [1.0])


def test_lif_analog_trace_soft_reset():
  # p = 0, rect, α = 1, ϑ = 1, γ = 0.5, c = 0.6: s = clip(u − 1 + 1/2, 0, 1)
  # t0: u = 0.6,  s = 0.1
  # t1: u = 0.5·0.6·0.9 + 0.6 = 0.87,  s = 0.37
  # t2: u = 0.5·0.87·0.63 + 0.6 = 0.87405,  s = 0.37405
  s = asgl_jax.lif(jnp.full((3,), 0.6), 1.0, p=0.0)
  np.testing.assert_allclose(s, [0.1, 0.37, 0.37405], rtol=1e-5)


def test_lif_threshold_decay_and_init_state():
  # γ = 0.25, ϑ = 0.5, start from u = 2 with no previous spike: u0 = 0.5 + 0.1 = 0.6 → spike
  init = asgl_jax.LIFState(jnp.array([2.0]), jnp.array([0.0]))
  s, _ = asgl_jax.lif_scan(
    jnp.array([[0.1], [0.1], [0.45]]), 1.0, decay=0.25, threshold=0.5, train=False, init_state=init
  )
  # t1: reset → u = 0.1; t2: u = 0.025 + 0.45 = 0.475 < 0.5
  np.testing.assert_array_equal(s[:, 0], [1, 0, 0])


def _reference_lif(c, alpha, key, p, decay, threshold, detach=False):
  """Python loop over time with the plain stop-gradient formulation of Eq. 10 (rect)."""
  v = jnp.zeros(c.shape[1:])
  s = jnp.zeros(c.shape[1:])
  out = []
  for t in range(c.shape[0]):
    reset = 1 - (jax.lax.stop_gradient(s) if detach else s)
    v = decay * v * reset + c[t]
    u = v - threshold
    m = asgl_jax.sample_mask(
      jax.random.fold_in(key, t), p, u.shape
    )  # the documented mask of step t
    h = jnp.clip(u / alpha + 0.5, 0.0, 1.0)
    s = h + m * jax.lax.stop_gradient((u >= 0).astype(u.dtype) - h)
    out.append(s)
  return jnp.stack(out)


@pytest.mark.parametrize("detach", [False, True])
def test_lif_matches_reference_values_and_gradients(detach):
  key = jax.random.key(4)
  c = jax.random.uniform(jax.random.key(0), (7, 5, 3), minval=0.0, maxval=1.5)
  w = jax.random.normal(jax.random.key(1), c.shape)

  def ours(c, a, g):
    return asgl_jax.lif(c, a, key=key, p=0.6, decay=g, threshold=1.0, detach_reset=detach)

  def ref(c, a, g):
    return _reference_lif(c, a, key, 0.6, g, 1.0, detach)

  np.testing.assert_allclose(ours(c, 1.3, 0.5), ref(c, 1.3, 0.5), atol=1e-6)
  g1 = jax.grad(lambda *a: jnp.sum(w * ours(*a)), argnums=(0, 1, 2))(c, 1.3, 0.5)
  g2 = jax.grad(lambda *a: jnp.sum(w * ref(*a)), argnums=(0, 1, 2))(c, 1.3, 0.5)
  for a, b in zip(g1, g2):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_lif_masks_differ_between_time_steps():
  c = jnp.full((2, 4096), 1.25)  # u − ϑ = 0.25 at t = 0
  s = asgl_jax.lif(c, 1.0, key=jax.random.key(0), p=0.5, decay=0.0)
  assert np.any(s[0] != s[1])  # same inputs, different masks per step


def test_lif_unroll_remat_and_jit_agree():
  key = jax.random.key(2)
  c = jax.random.uniform(jax.random.key(0), (9, 4, 6), maxval=1.5)

  def loss(c, a, **kw):
    return jnp.sum(asgl_jax.lif(c, a, key=key, p=0.5, **kw) ** 2)

  base = jax.grad(loss, argnums=(0, 1))(c, 1.0)
  for kw in (dict(unroll=3), dict(remat=True)):
    g = jax.jit(jax.grad(lambda c, a, kw=kw: loss(c, a, **kw), argnums=(0, 1)))(c, 1.0)
    for a, b in zip(g, base):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_lif_learnable_per_channel_decay_gets_gradient():
  c = jax.random.uniform(jax.random.key(0), (5, 2, 3), maxval=1.5)
  g = jax.grad(lambda d: jnp.sum(asgl_jax.lif(c, 1.0, p=0.0, decay=d)))(jnp.full((3,), 0.5))
  assert g.shape == (3,) and np.all(np.isfinite(g)) and np.any(g != 0)


def test_lif_errors():
  with pytest.raises(ValueError, match="lif: .*key"):
    asgl_jax.lif(jnp.ones((3, 2)), 1.0, p=0.5)
  with pytest.raises(ValueError, match="time axis"):
    asgl_jax.lif(jnp.float32(1.0), 1.0)
  with pytest.raises(ValueError, match="lif: p"):
    asgl_jax.lif(jnp.ones((3, 2)), 1.0, p=2.0)


def test_clif_norm():
  # β_m = 0.5, β_s = 0.25: kernel 0, 0.25, 0.1875, ... → peak 0.25, u0 = 4
  assert asgl_jax.clif_norm(0.5, 0.25) == pytest.approx(4.0)
  k = np.arange(200)
  assert asgl_jax.clif_norm(0.9, 0.6) == pytest.approx(1 / np.max(0.9**k - 0.6**k))
  with pytest.raises(ValueError):
    asgl_jax.clif_norm(0.5, 0.5)


def test_clif_eval_trace():
  # β_m = 0.5, β_s = 0.25, u0 = 2, ϑ = 0.5, c = [1, 0, 0, 1]
  # t0: m = 1,     syn = 1,        e = 0,    u = 0         → 0
  # t1: m = 0.5,   syn = 0.25,     e = 0,    u = 0.5       → 1 (fires at equality)
  # t2: m = 0.25,  syn = 0.0625,   e = 0.5,  u = −0.125    → 0
  # t3: m = 1.125, syn = 1.015625, e = 0.25, u = −0.03125  → 0
  c = jnp.array([1.0, 0.0, 0.0, 1.0])
  s, final = asgl_jax.clif_scan(c, 1.0, beta_m=0.5, beta_s=0.25, u0=2.0, threshold=0.5, train=False)
  np.testing.assert_array_equal(s, [0, 1, 0, 0])
  np.testing.assert_allclose(final.m, 1.125)
  np.testing.assert_allclose(final.syn, 1.015625)
  np.testing.assert_allclose(final.e, 0.25)


def test_clif_trains():
  c = jax.random.uniform(jax.random.key(0), (20, 4, 3), maxval=2.0)
  g = jax.grad(
    lambda c, a: jnp.sum(asgl_jax.clif_scan(c, a, p=0.0)[0]),
    argnums=(0, 1),
  )(c, 1.0)
  assert all(np.all(np.isfinite(x)) for x in g) and np.any(g[0] != 0)


def test_recurrent_lif_eval_trace():
  # V[i, j]: from neuron i to neuron j. x = [1.2, 0.3], γ = 0.5, ϑ = 1
  # t0: c = [1.2, 0.3],                 v = [1.2, 0.3],            s = [1, 0]
  # t1: c = x + [1,0]V = [1.2, 1.3],    v = [0, 0.15] + c = [1.2, 1.45], s = [1, 1]
  # t2: c = x + [1,1]V = [1.7, 1.3],    v = c,                     s = [1, 1]
  v_w = jnp.array([[0.0, 1.0], [0.5, 0.0]])
  x = jnp.tile(jnp.array([1.2, 0.3]), (3, 1))
  s, final = asgl_jax.recurrent_lif_scan(x, v_w, 1.0, train=False)
  np.testing.assert_array_equal(s, [[1, 0], [1, 1], [1, 1]])
  np.testing.assert_allclose(final.v, [1.7, 1.3], rtol=1e-6)


def test_recurrent_lif_synapse_decay_trace():
  # V = 0, x = [1, 0, 0], β_syn = 0.5, ϑ = 10 (no spikes): c = 1, 0.5, 0.25; v = 1, 1, 0.75
  x = jnp.array([[1.0], [0.0], [0.0]])
  _, final = asgl_jax.recurrent_lif_scan(
    x, jnp.zeros((1, 1)), 1.0, threshold=10.0, synapse_decay=0.5, train=False
  )
  np.testing.assert_allclose(final.c, [0.25])
  np.testing.assert_allclose(final.v, [0.75])


def test_recurrent_lif_gradient_matches_python_loop():
  key = jax.random.key(3)
  x = jax.random.uniform(jax.random.key(0), (6, 2, 4), maxval=1.2)
  v_w = jax.random.normal(jax.random.key(1), (4, 4)) * 0.3

  def ours(x, v_w, a):
    return asgl_jax.recurrent_lif_scan(x, v_w, a, key=key, p=0.5)[0]

  def ref(x, v_w, a):
    v = jnp.zeros(x.shape[1:])
    s = jnp.zeros(x.shape[1:])
    out = []
    for t in range(x.shape[0]):
      c = x[t] + s @ v_w
      v = 0.5 * v * (1 - s) + c
      u = v - 1.0
      m = asgl_jax.sample_mask(jax.random.fold_in(key, t), 0.5, u.shape)
      h = jnp.clip(u / a + 0.5, 0.0, 1.0)
      s = h + m * jax.lax.stop_gradient((u >= 0).astype(u.dtype) - h)
      out.append(s)
    return jnp.stack(out)

  np.testing.assert_allclose(ours(x, v_w, 1.0), ref(x, v_w, 1.0), atol=1e-6)
  g1 = jax.grad(lambda *a: jnp.sum(ours(*a) ** 2), argnums=(0, 1, 2))(x, v_w, 1.0)
  g2 = jax.grad(lambda *a: jnp.sum(ref(*a) ** 2), argnums=(0, 1, 2))(x, v_w, 1.0)
  for a, b in zip(g1, g2):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  with pytest.raises(ValueError, match="recurrent_weight"):
    asgl_jax.recurrent_lif_scan(x, jnp.zeros((3, 3)), 1.0, train=False)


@pytest.mark.parametrize(
  "p,detach,t", [(0.5, False, 7), (0.5, True, 7), (1.0, False, 7), (0.0, False, 7), (0.5, False, 3)]
)
def test_recurrent_lif_all_gradients_match_python_loop(p, detach, t):
  """Every input of the (fused) recurrent scan: currents, V, per-channel α and γ, ϑ, the
  initial state, per-example keys; cotangents on spikes, potentials and the final state.
  T = 3 takes the fully unrolled path (``FULL_UNROLL_MAX_T``)."""
  keys = jax.random.split(jax.random.key(8), 3)
  x = jax.random.uniform(jax.random.key(0), (t, 3, 4), maxval=1.3)
  v_w = jax.random.normal(jax.random.key(1), (4, 4)) * 0.4
  alpha = jnp.array([0.8, 1.2, 1.0, 1.5])
  decay = jnp.array([0.5, 0.3, 0.7, 0.9])
  v0 = jax.random.uniform(jax.random.key(2), (3, 4))
  s0 = (jax.random.uniform(jax.random.key(3), (3, 4)) < 0.5).astype(jnp.float32)
  wts = [jax.random.normal(jax.random.key(10 + i), (t, 3, 4)) for i in range(2)]
  wv = jax.random.normal(jax.random.key(12), (3, 4))

  def loss(spikes, u, v, s):
    return jnp.sum(wts[0] * spikes) + jnp.sum(wts[1] * u**2) + jnp.sum(wv * v) + jnp.sum(s)

  def ours(x, v_w, alpha, decay, thr, v0, s0):
    spikes, final, u = asgl_jax.recurrent_lif_scan(
      x,
      v_w,
      alpha,
      key=keys,
      p=p,
      decay=decay,
      threshold=thr,
      detach_reset=detach,
      init_state=asgl_jax.RecurrentLIFState(v0, s0, jnp.zeros_like(v0)),
      return_potential=True,
    )
    return loss(spikes, u, final.v, final.s)

  def ref(x, v_w, alpha, decay, thr, v0, s0):
    v, s, out, us = v0, s0, [], []
    for t in range(x.shape[0]):
      gate = 1 - (jax.lax.stop_gradient(s) if detach else s)
      v = decay * v * gate + (x[t] + s @ v_w)
      u = v - thr
      m = asgl_jax.sample_mask(asgl_jax.spiking.fold_in(keys, t), p, u.shape)
      h = jnp.clip(u / alpha + 0.5, 0.0, 1.0)
      s = h + m * jax.lax.stop_gradient((u >= 0).astype(u.dtype) - h)
      out.append(s)
      us.append(u)
    return loss(jnp.stack(out), jnp.stack(us), v, s)

  args = (x, v_w, alpha, decay, 1.0, v0, s0)
  np.testing.assert_allclose(ours(*args), ref(*args), rtol=1e-5)
  g1 = jax.grad(ours, argnums=tuple(range(7)))(*args)
  g2 = jax.grad(ref, argnums=tuple(range(7)))(*args)
  for name, a, b in zip(("x", "V", "alpha", "decay", "thr", "v0", "s0"), g1, g2):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)


def test_return_potential_gives_u_minus_threshold():
  c = jnp.full((4, 1), 0.6)
  _, _, u = asgl_jax.lif_scan(c, 1.0, train=False, return_potential=True)
  np.testing.assert_allclose(u[:, 0], [-0.4, -0.1, 0.05, -0.4], atol=1e-6)
  _, _, u = asgl_jax.clif_scan(
    jnp.array([1.0, 0.0]),
    1.0,
    beta_m=0.5,
    beta_s=0.25,
    u0=2.0,
    threshold=0.5,
    train=False,
    return_potential=True,
  )
  np.testing.assert_allclose(u, [-0.5, 0.0], atol=1e-6)  # u = 0, 0.5 (see the C-LIF trace)


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("t", [2, 12])  # 2: unrolled completely (FULL_UNROLL_MAX_T)
def test_fused_scans_equal_autodiff_scans(recurrent, t):
  """The fused path (default in training) against ``fused=False`` (autodiff of the step):
  bit-identical spikes and potentials, gradients equal to float32 rounding."""
  assert (t <= asgl_jax.fused.FULL_UNROLL_MAX_T) == (t == 2)
  keys = jax.random.split(jax.random.key(5), 4)
  x = jax.random.uniform(jax.random.key(0), (t, 4, 6), maxval=1.4)
  v_w = jax.random.normal(jax.random.key(1), (6, 6)) * 0.3
  w = jax.random.normal(jax.random.key(2), x.shape)

  def run(x, v_w, alpha, decay, fused):
    kw = dict(key=keys, p=0.7, decay=decay, return_potential=True, fused=fused)
    if recurrent:
      s, _, u = asgl_jax.recurrent_lif_scan(x, v_w, alpha, **kw)
    else:
      s, _, u = asgl_jax.lif_scan(x, alpha, **kw)
    return s, u

  args = (x, v_w, jnp.full((6,), 0.9), 0.6)
  (s1, u1), (s2, u2) = run(*args, True), run(*args, False)
  np.testing.assert_array_equal(s1, s2)
  np.testing.assert_array_equal(u1, u2)

  def loss(*a, fused):
    s, u = run(*a, fused)
    return jnp.sum(w * s) + 0.1 * jnp.sum(u**2)

  g1 = jax.grad(lambda *a: loss(*a, fused=True), argnums=(0, 1, 2, 3))(*args)
  g2 = jax.grad(lambda *a: loss(*a, fused=False), argnums=(0, 1, 2, 3))(*args)
  for a, b in zip(g1, g2):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("t", [3, 12])
def test_fused_recurrent_scan_with_synaptic_decay_equals_the_reference(t):
  """Eq. 28's synaptic trace c[t] = β·c[t−1] + x[t] + s[t−1] @ V in the fused kernel: the same
  bits as the autodiff scan, and the same gradients (inputs, V, α, γ and the initial trace,
  with the final state in the loss too)."""
  keys = jax.random.split(jax.random.key(6), 4)
  x = jax.random.uniform(jax.random.key(0), (t, 4, 6), maxval=1.0)
  v_w = jax.random.normal(jax.random.key(1), (6, 6)) * 0.3
  w = jax.random.normal(jax.random.key(2), x.shape)
  c0 = jax.random.uniform(jax.random.key(3), (4, 6), maxval=0.5)
  z = jnp.zeros((4, 6))

  def run(x, v_w, alpha, decay, c0, fused):
    init = asgl_jax.RecurrentLIFState(z, z, c0)
    return asgl_jax.recurrent_lif_scan(
      x,
      v_w,
      alpha,
      key=keys,
      p=0.7,
      decay=decay,
      synapse_decay=0.6,
      init_state=init,
      return_potential=True,
      fused=fused,
    )

  args = (x, v_w, jnp.full((6,), 0.9), 0.6, c0)
  (s1, f1, u1), (s2, f2, u2) = run(*args, True), run(*args, False)
  np.testing.assert_array_equal(s1, s2)
  np.testing.assert_array_equal(u1, u2)
  for a, b in zip(f1, f2):
    np.testing.assert_array_equal(a, b)
  assert float(jnp.abs(f1.c - (x[-1] + s1[-2] @ v_w)).max()) > 0.01  # the trace matters

  def loss(*a, fused):
    s, final, u = run(*a, fused)
    return jnp.sum(w * s) + 0.1 * jnp.sum(u**2) + jnp.sum(final.c**2) + jnp.sum(final.v)

  g1 = jax.grad(lambda *a: loss(*a, fused=True), argnums=(0, 1, 2, 3, 4))(*args)
  g2 = jax.grad(lambda *a: loss(*a, fused=False), argnums=(0, 1, 2, 3, 4))(*args)
  for a, b in zip(g1, g2):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
  assert float(jnp.abs(g1[4]).max()) > 0  # the initial trace gets a gradient


def test_fused_scan_under_vmap_jit_and_checkpoint():
  """Per-example gradients (vmap of grad) and jax.checkpoint around the fused scan give the
  autodiff scan's gradients."""
  x = jax.random.uniform(jax.random.key(0), (5, 8, 3), maxval=1.5)  # 5 examples, T = 8, N = 3
  keys = jax.random.split(jax.random.key(1), 5)

  def loss(xi, a, ki, fused):
    return jnp.sum(asgl_jax.lif_scan(xi[:, None], a, key=ki, p=0.6, fused=fused)[0] ** 2)

  per_example = jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=(0, None, 0, None))
  for a, b in zip(per_example(x, 1.0, keys, True), per_example(x, 1.0, keys, False)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  ck = jax.jit(jax.grad(jax.checkpoint(lambda a: loss(x[0], a, keys[0], True))))
  np.testing.assert_allclose(
    ck(1.0), jax.grad(lambda a: loss(x[0], a, keys[0], False))(1.0), rtol=1e-5
  )


_X = jnp.ones((3, 2, 4))
_V = jnp.zeros((4, 4))
_Z = jnp.zeros((2, 4))
_S, _C = asgl_jax.LIFState(_Z, _Z), asgl_jax.CLIFState(_Z, _Z, _Z, _Z)
_R = asgl_jax.RecurrentLIFState(_Z, _Z, _Z)


@pytest.mark.parametrize(
  "call, match",
  [
    (lambda: asgl_jax.clif_scan(_X, 0.0, train=False), "alpha"),
    (lambda: asgl_jax.lif_scan(_X, -1.0, key=jax.random.key(0), p=0.5, fused=False), "alpha"),
    (
      lambda: asgl_jax.lif_scan(_X.astype(jnp.bfloat16), 0.0, key=jax.random.key(0), p=0.5),
      "alpha",
    ),
    (lambda: asgl_jax.lif_scan(_X, 0.0, remat=True), "alpha"),
    (lambda: asgl_jax.lif_scan(_X, -2.0, train=False), "alpha"),
    (lambda: asgl_jax.recurrent_lif_scan(_X, _V, -1.0, synapse_decay=0.5), "alpha"),
    (lambda: asgl_jax.lif_scan(_X, float("inf")), "finite"),
    (lambda: asgl_jax.lif_scan(_X, 1e-40), "normal"),
    (lambda: asgl_jax.lif_scan(_X, 1.0, decay=1.5), r"decay must be in \[0, 1\]"),
    (lambda: asgl_jax.lif_scan(_X, 1.0, decay=-0.1), r"decay must be in \[0, 1\]"),
    (lambda: asgl_jax.lif_scan(_X, 1.0, threshold=float("nan")), "threshold must be finite"),
    (lambda: asgl_jax.clif_scan(_X, 1.0, beta_m=1.2), r"beta_m must be in \[0, 1\]"),
    (lambda: asgl_jax.recurrent_lif_scan(_X, _V, 1.0, synapse_decay=2.0), "synapse_decay"),
    (lambda: asgl_jax.lif_scan(jnp.ones((0, 2, 4)), 1.0), "at least one time step"),
    (lambda: asgl_jax.sample_mask(jax.random.key(0), 1.5, (3,)), r"p .* must be in \[0, 1\]"),
    (lambda: asgl_jax.sample_mask(jax.random.key(0), -1.0, (3,)), r"must be in \[0, 1\]"),
    (lambda: asgl_jax.sample_mask(jax.random.key(0), float("nan"), (3,)), r"must be in \[0, 1\]"),
    (lambda: asgl_jax.lif_step(_S, _X[0], 1.0, decay=1.5), r"lif_step: decay must be in"),
    (lambda: asgl_jax.lif_step(_S, _X[0], 1.0, threshold=float("inf")), "threshold must be"),
    (lambda: asgl_jax.clif_step(_C, _X[0], 1.0, beta_s=-0.5), r"clif_step: beta_s must be in"),
    (
      lambda: asgl_jax.recurrent_lif_step(_R, _X[0], _V, 1.0, synapse_decay=float("nan")),
      "recurrent_lif_step: synapse_decay",
    ),
  ],
)
def test_every_entry_point_rejects_bad_neuron_arguments_clearly(call, match):
  """One set of checks (asgl_jax._checks) for every scan, fused or not, in any dtype, with or
  without remat, in training and evaluation; the error names the argument."""
  with pytest.raises(ValueError, match=match):
    call()


def test_traced_clif_decays_need_u0_and_bf16_scans_take_traced_constants():
  x = _X.astype(jnp.bfloat16)
  with pytest.raises(TypeError, match="beta_m and beta_s must be concrete.*pass u0"):
    jax.jit(lambda b: asgl_jax.clif_scan(_X, 1.0, beta_m=b, train=False))(0.9)
  s, _ = jax.jit(lambda b: asgl_jax.clif_scan(_X, 1.0, beta_m=b, u0=1.6, train=False))(0.9)
  assert s.shape == _X.shape
  # traced float32 constants keep a bfloat16 scan's carry in bfloat16
  for f in (
    lambda d: asgl_jax.lif_scan(x, 1.0, decay=d, fused=False, train=False),
    lambda d: asgl_jax.clif_scan(x, 1.0, threshold=d + 0.5, train=False),
    lambda d: asgl_jax.recurrent_lif_scan(x, _V, 1.0, decay=d, fused=False, train=False),
  ):
    s, _ = jax.jit(f)(jnp.float32(0.5))
    assert s.dtype == jnp.bfloat16


def test_integer_widths_are_widths_and_booleans_are_not():
  u = jnp.array([-0.2, 0.3])
  np.testing.assert_array_equal(asgl_jax.spike(u, 1, p=0.0), asgl_jax.spike(u, 1.0, p=0.0))
  np.testing.assert_array_equal(asgl_jax.lif_scan(_X, 1)[0], asgl_jax.lif_scan(_X, 1.0)[0])
  for call in (lambda: asgl_jax.spike(u, True), lambda: asgl_jax.lif_scan(_X, jnp.array(True))):
    with pytest.raises(TypeError, match="alpha must be a real number"):
      call()
