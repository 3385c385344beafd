"""Tests of the forwarding functions and the ASGL spike primitive against formulas."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import test_util

import asgl_jax
from asgl_jax import cpu

# Reference formulas, written here independently of the library (x = u / α).
_SIG = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
_B = 3.0
_REF = {
  "rect": (
    lambda u, a: np.clip(u / a + 0.5, 0.0, 1.0),
    lambda u, a: np.where(np.abs(u) < a / 2, 1.0 / a, 0.0),
    lambda u, a: np.where(np.abs(u) < a / 2, -u / a**2, 0.0),
  ),
  "sigmoid": (
    lambda u, a: _SIG(u / a),
    lambda u, a: _SIG(u / a) * (1 - _SIG(u / a)) / a,
    lambda u, a: -u / a**2 * _SIG(u / a) * (1 - _SIG(u / a)),
  ),
  "tanh": (
    lambda u, a: (np.tanh(u / a) + 1) / 2,
    lambda u, a: (1 - np.tanh(u / a) ** 2) / (2 * a),
    lambda u, a: -u / (2 * a**2) * (1 - np.tanh(u / a) ** 2),
  ),
  "atan": (
    lambda u, a: 0.5 + np.arctan(u / a) / np.pi,
    lambda u, a: 1 / (np.pi * a * (1 + (u / a) ** 2)),
    lambda u, a: -u / (np.pi * a**2 * (1 + (u / a) ** 2)),
  ),
  "dspike": (
    lambda u, a: (
      np.clip(0.5 + np.tanh(_B * u / a) / (2 * np.tanh(_B / 2)), 0, 1) * (np.abs(u) < a / 2)
      + (u >= a / 2)
    ),
    lambda u, a: np.where(
      np.abs(u) < a / 2, _B * (1 - np.tanh(_B * u / a) ** 2) / (2 * a * np.tanh(_B / 2)), 0.0
    ),
    lambda u, a: np.where(
      np.abs(u) < a / 2,
      -_B * u * (1 - np.tanh(_B * u / a) ** 2) / (2 * a**2 * np.tanh(_B / 2)),
      0.0,
    ),
  ),
}
BUILTINS = sorted(_REF)


def _grid(alpha):
  # Includes the edges |u| = α/2, zero, and points well outside the support.
  return np.array(
    [-3 * alpha, -alpha / 2, -0.3 * alpha, -1e-3, 0.0, 1e-3, 0.2 * alpha, alpha / 2, 2 * alpha],
    np.float32,
  )


def test_builtins_are_registered():
  assert set(BUILTINS) <= set(asgl_jax.available_surrogates())


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.5])
def test_forward_and_gradients_match_formulas(name, alpha):
  h, dh_du, dh_da = _REF[name]
  u = _grid(alpha)
  a = np.full_like(u, alpha)  # per-element width: the α gradient is elementwise
  f = lambda u, a: asgl_jax.spike(u, a, p=0.0, surrogate=name)  # noqa: E731
  np.testing.assert_allclose(f(u, a), h(u.astype(np.float64), alpha), rtol=1e-6, atol=1e-6)
  _, vjp = jax.vjp(f, jnp.asarray(u), jnp.asarray(a))
  g_u, g_a = vjp(jnp.ones_like(u))
  np.testing.assert_allclose(g_u, dh_du(u.astype(np.float64), alpha), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(g_a, dh_da(u.astype(np.float64), alpha), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_surrogates_scale_u_by_the_reciprocal_width(name):
  """x = u/α is computed as u·(1/α): the membrane potential is multiplied, never divided.
  (XLA:CPU keeps a tensor-sized quotient as a buffer of its own; a product fuses into every
  consumer. benchmarks/RESULTS.md: 4–5 % of the recurrent training step.)"""
  sur = asgl_jax.get_surrogate(name)
  for fn in (sur.forward, sur.grad):
    jaxpr = jax.make_jaxpr(fn)(jnp.ones((8, 3)), jnp.full((3,), 0.7)).jaxpr
    u = jaxpr.invars[0]
    uses = [e.primitive.name for e in jaxpr.eqns if any(v is u for v in e.invars)]
    assert uses == ["mul"], (fn, uses)


def test_rect_edges_have_zero_gradient():
  u = jnp.array([-0.5, 0.5, -0.4999, 0.4999])
  g = jax.grad(lambda u: asgl_jax.spike(u, 1.0, p=0.0).sum())(u)
  np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("name", BUILTINS)
def test_random_mask_matches_stop_gradient_formulation(name):
  h = {
    "rect": lambda u, a: jnp.clip(u / a + 0.5, 0.0, 1.0),
    "sigmoid": lambda u, a: jax.nn.sigmoid(u / a),
    "tanh": lambda u, a: (jnp.tanh(u / a) + 1) / 2,
    "atan": lambda u, a: 0.5 + jnp.arctan(u / a) / jnp.pi,
    "dspike": lambda u, a: 0.5 + jnp.tanh(_B * jnp.clip(u / a, -0.5, 0.5)) / (2 * np.tanh(_B / 2)),
  }[name]
  ku, km = jax.random.split(jax.random.key(1))
  u = jax.random.uniform(ku, (64, 7), minval=-1.5, maxval=1.5)
  mask = jax.random.bernoulli(km, 0.6, u.shape)
  alpha = jnp.array([0.7, 1.1, 0.9, 2.0, 1.3, 0.8, 1.0])  # per channel
  w = jax.random.normal(jax.random.key(2), u.shape)

  def plain(u, a):
    hh = h(u, a)
    return hh + mask * jax.lax.stop_gradient((u >= 0).astype(u.dtype) - hh)

  def ours(u, a):
    return asgl_jax.spike_with_mask(u, a, mask, surrogate=name)

  np.testing.assert_allclose(ours(u, alpha), plain(u, alpha), atol=1e-6)
  g_ours = jax.grad(lambda u, a: jnp.sum(w * ours(u, a)), argnums=(0, 1))(u, alpha)
  g_plain = jax.grad(lambda u, a: jnp.sum(w * plain(u, a)), argnums=(0, 1))(u, alpha)
  assert g_ours[1].shape == alpha.shape
  for go, gp in zip(g_ours, g_plain):
    np.testing.assert_allclose(go, gp, rtol=1e-5, atol=1e-5)
  # Spike-mode elements are exactly binary.
  out = np.asarray(ours(u, alpha))
  np.testing.assert_array_equal(out[np.asarray(mask)], np.asarray(u >= 0)[np.asarray(mask)])


def test_p_one_is_surrogate_gradient_learning():
  u = jnp.linspace(-1.0, 1.0, 21)
  s = asgl_jax.spike(u, 1.0, p=1.0)  # no key needed
  np.testing.assert_array_equal(s, (np.asarray(u) >= 0).astype(np.float32))
  g = jax.grad(lambda u: asgl_jax.spike(u, 1.0, p=1.0).sum())(u)
  np.testing.assert_allclose(g, _REF["rect"][1](np.asarray(u, np.float64), 1.0), atol=1e-6)


def test_p_zero_is_analog():
  u = jnp.linspace(-1.0, 1.0, 21)
  s = asgl_jax.spike(u, 2.0, p=0.0, surrogate="sigmoid")
  np.testing.assert_allclose(s, _REF["sigmoid"][0](np.asarray(u, np.float64), 2.0), atol=1e-6)


def test_eval_is_exact_heaviside():
  u = jnp.array([-2.0, -1e-7, 0.0, 1e-7, 3.0])
  expected = np.array([0.0, 0.0, 1.0, 1.0, 1.0], np.float32)
  for p in (0.0, 0.3, 1.0):
    np.testing.assert_array_equal(asgl_jax.spike(u, 1.0, p=p, train=False), expected)
  np.testing.assert_array_equal(asgl_jax.heaviside(u), expected)
  assert jax.grad(lambda u: asgl_jax.spike(u, 1.0, train=False).sum())(u).sum() == 0


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_fraction_of_spike_mode_matches_p(p):
  n = 200_000
  u = jnp.full((n,), 0.25)  # H = 0.75 for rect, α = 1; Θ = 1 → the value shows the mode
  s = np.asarray(asgl_jax.spike(u, 1.0, key=jax.random.key(3), p=p))
  assert set(np.unique(s)) <= {0.75, 1.0}
  frac = np.mean(s == 1.0)
  assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_masks_depend_on_key_only():
  u = jnp.full((4096,), 0.25)
  k1, k2 = jax.random.key(0), jax.random.key(1)
  a = asgl_jax.spike(u, 1.0, key=k1, p=0.5)
  np.testing.assert_array_equal(a, asgl_jax.spike(u, 1.0, key=k1, p=0.5))
  assert np.any(a != asgl_jax.spike(u, 1.0, key=k2, p=0.5))
  # Legacy uint32 keys work too.
  legacy = jax.random.PRNGKey(0)
  np.testing.assert_array_equal(
    asgl_jax.spike(u, 1.0, key=legacy, p=0.5), asgl_jax.spike(u, 1.0, key=legacy, p=0.5)
  )


def test_batch_of_keys_draws_each_slice_independently_of_the_batch():
  keys = jax.random.split(jax.random.key(5), 3)  # one key per example
  m = asgl_jax.sample_mask(keys, 0.5, (3, 10, 4))
  for i in range(3):
    np.testing.assert_array_equal(m[i], asgl_jax.sample_mask(keys[i], 0.5, (10, 4)))
  with pytest.raises(ValueError, match="prefix"):
    asgl_jax.sample_mask(keys, 0.5, (4, 10))


def _corr(a, b):
  a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
  return np.corrcoef(a, b)[0, 1]


def test_hash_masks_are_uncorrelated_across_elements_steps_and_examples():
  """The counter-based masks behave as independent Bernoulli(p) draws: pairwise correlations
  of neighbouring elements, of consecutive steps (fold_in(key, t), as the neuron scans draw
  them) and of examples with their own keys are within 5σ of 0 (σ = 1/√n), and the rate of
  the elementwise AND is p²."""
  p, n = 0.3, 200_000
  key = jax.random.key(11)
  m = np.asarray(asgl_jax.sample_mask(key, p, (n + 1,)))
  tol = 5 / math.sqrt(n)
  assert abs(_corr(m[:-1], m[1:])) < tol
  m0 = np.asarray(asgl_jax.sample_mask(jax.random.fold_in(key, 0), p, (n,)))
  m1 = np.asarray(asgl_jax.sample_mask(jax.random.fold_in(key, 1), p, (n,)))
  assert abs(_corr(m0, m1)) < tol
  assert abs(np.mean(m0 & m1) - p * p) < 5 * math.sqrt(p * p * (1 - p * p) / n)
  keys = jax.random.split(key, 2)
  mb = np.asarray(asgl_jax.sample_mask(keys, p, (2, n)))
  assert abs(_corr(mb[0], mb[1])) < tol
  # Bits of the index do not show through: the rate is p on even and odd, low and high halves.
  for part in (m[0::2], m[1::2], m[: n // 2], m[n // 2 :]):
    assert abs(np.mean(part) - p) < 5 * math.sqrt(p * (1 - p) / len(part))


def test_mask_seeds_give_the_masks_of_their_keys():
  key = jax.random.key(3)
  seeds = asgl_jax.spiking.mask_seeds(key, 4)
  for t in range(4):
    seed_t = asgl_jax.spiking.MaskSeed(seeds.words[t])
    np.testing.assert_array_equal(
      asgl_jax.sample_mask(seed_t, 0.5, (6, 5)),
      asgl_jax.sample_mask(jax.random.fold_in(key, t), 0.5, (6, 5)),
    )
  with pytest.raises(TypeError, match="MaskSeed"):
    asgl_jax.spiking.fold_in(seeds, 1)


def test_traced_p_without_recompiling():
  u = jax.random.uniform(jax.random.key(0), (1000,), minval=-1, maxval=1)
  key = jax.random.key(7)
  traces = []

  @jax.jit
  def f(p):
    traces.append(None)
    return asgl_jax.spike(u, 1.0, key=key, p=p)

  np.testing.assert_array_equal(f(1.0), np.asarray(u >= 0, np.float32))
  np.testing.assert_allclose(f(0.0), np.clip(np.asarray(u) + 0.5, 0, 1), atol=1e-7)
  np.testing.assert_array_equal(f(0.4), asgl_jax.spike(u, 1.0, key=key, p=0.4))
  assert len(traces) == 1


def test_check_grads_float64_on_smooth_parts():
  with jax.enable_x64(True):
    u = jnp.linspace(-2.0, 2.0, 13, dtype=jnp.float64)
    a = jnp.asarray(0.8, jnp.float64)
    for name in ("sigmoid", "tanh", "atan"):
      test_util.check_grads(
        lambda u, a, n=name: asgl_jax.spike(u, a, p=0.0, surrogate=n),
        (u, a),
        order=1,
        modes=("rev",),
      )
    # rect away from its kinks at |u| = α/2
    u = jnp.array([-0.3, -0.1, 0.05, 0.2, 0.35], jnp.float64)
    test_util.check_grads(lambda u, a: asgl_jax.spike(u, a, p=0.0), (u, a), order=1, modes=("rev",))


def test_alpha_cotangent_is_summed_over_broadcast_axes():
  u = jax.random.normal(jax.random.key(0), (5, 3, 4)) * 0.4
  alpha = jnp.array([[0.5], [1.0], [2.0]])  # [3, 1]: broadcast over axes 0 and 2
  g = jax.grad(lambda a: asgl_jax.spike(u, a, p=0.0).sum())(alpha)
  assert g.shape == (3, 1)
  ref = _REF["rect"][2](np.asarray(u, np.float64), np.asarray(alpha, np.float64)).sum(axis=(0, 2))
  np.testing.assert_allclose(g[:, 0], ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
  "shape, axes",
  [((), (0, 1, 2, 3)), ((7,), (0, 1, 2)), ((6, 7), (0, 1)), ((1, 7), (0, 1, 2))],
)
def test_param_grad_sum_sums_the_broadcast_axes(shape, axes):
  """The parameter-gradient sum of the backward passes (a product with ones on CPU) against
  NumPy's float64 sum, jitted and under vmap; (1, 7) takes the general path."""
  x = jax.random.normal(jax.random.key(0), (4, 5, 6, 7))
  ref = np.asarray(x, np.float64).sum(axis=axes).reshape(shape)
  f = jax.jit(lambda x: cpu.param_grad_sum(x, shape))
  np.testing.assert_allclose(f(x), ref, rtol=1e-5, atol=1e-5)
  per_row = jax.vmap(lambda r: cpu.param_grad_sum(r, shape))(x)
  ref_rows = np.asarray(x, np.float64).sum(axis=axes[1:]).reshape((4, *shape))
  np.testing.assert_allclose(per_row, ref_rows, rtol=1e-5, atol=1e-5)
  traced = f.trace(x)
  lowered = traced.lower(lowering_platforms=("cpu",)).as_text()
  assert ("dot_general" in lowered) == (shape != (1, 7)), lowered
  for platform in ("cuda", "tpu"):  # a plain reduction there
    text = traced.lower(lowering_platforms=(platform,)).as_text()
    assert "dot_general" not in text and "reduce" in text, platform


def test_transformations():
  key = jax.random.key(0)
  u = jax.random.normal(jax.random.key(1), (6, 8))
  f = lambda u, a: asgl_jax.spike(u, a, key=key, p=0.5, surrogate="sigmoid")  # noqa: E731
  loss = lambda u, a: jnp.sum(f(u, a) ** 2)  # noqa: E731
  ref = f(u, 1.0)
  g_ref = jax.grad(loss, argnums=(0, 1))(u, 1.0)
  np.testing.assert_allclose(jax.jit(f)(u, 1.0), ref)
  g_jit = jax.jit(jax.grad(loss, argnums=(0, 1)))(u, 1.0)
  for a, b in zip(g_jit, g_ref):
    np.testing.assert_allclose(a, b, rtol=1e-6)
  # vmap over rows with a per-row key: row i uses its key, like sample_mask with a key batch.
  keys = jax.random.split(key, 6)
  vm = jax.vmap(lambda u, k: asgl_jax.spike(u, 1.0, key=k, p=0.5))(u, keys)
  np.testing.assert_array_equal(vm, asgl_jax.spike(u, 1.0, key=keys, p=0.5))
  # grad of vmap, with alpha shared: the cotangent sums over the mapped axis.
  gv = jax.grad(
    lambda a: jnp.sum(jax.vmap(lambda u, k: asgl_jax.spike(u, a, key=k, p=0.5))(u, keys) ** 2)
  )(1.0)
  gd = jax.grad(lambda a: jnp.sum(asgl_jax.spike(u, a, key=keys, p=0.5) ** 2))(1.0)
  np.testing.assert_allclose(gv, gd, rtol=1e-5)
  # vmap of grad
  per_row = jax.vmap(jax.grad(lambda u: jnp.sum(asgl_jax.spike(u, 1.0, p=0.0) ** 2)))(u)
  np.testing.assert_allclose(per_row, jax.grad(lambda u: loss_p0(u))(u), rtol=1e-6)

  # inside lax.scan, and under jax.checkpoint
  def body(c, x):
    return c, asgl_jax.spike(x, 1.0, key=key, p=0.5, surrogate="sigmoid")

  _, ys = jax.lax.scan(body, 0.0, u[None])
  np.testing.assert_allclose(ys[0], ref)
  g_ck = jax.grad(jax.checkpoint(loss), argnums=(0, 1))(u, 1.0)
  for a, b in zip(g_ck, g_ref):
    np.testing.assert_allclose(a, b, rtol=1e-6)


def loss_p0(u):
  return jnp.sum(asgl_jax.spike(u, 1.0, p=0.0) ** 2)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_dtypes(dtype):
  u = (jax.random.normal(jax.random.key(0), (32,)) * 0.5).astype(dtype)
  alpha = jnp.float32(1.0)
  s = asgl_jax.spike(u, alpha, key=jax.random.key(1), p=0.5)
  assert s.dtype == dtype
  g_u, g_a = jax.grad(lambda u, a: asgl_jax.spike(u, a, p=0.0).astype(jnp.float32).sum(), (0, 1))(
    u, alpha
  )
  assert g_u.dtype == dtype and g_a.dtype == jnp.float32
  ref = _REF["rect"][1](np.asarray(u, np.float64), 1.0)
  np.testing.assert_allclose(np.asarray(g_u, np.float32), ref, rtol=1e-2)


def test_residuals_are_only_u_and_alpha():
  from jax._src.ad_checkpoint import saved_residuals

  u = jnp.ones((128, 64))
  mask = jnp.zeros((128, 64), bool)
  res = saved_residuals(lambda u, a: asgl_jax.spike_with_mask(u, a, mask), u, 1.0)
  shapes = sorted(tuple(r[0].shape) for r in res)
  assert shapes == [(), (128, 64)], res
  assert all(r[0].dtype != jnp.bool_ for r in res)


def test_user_registered_surrogate_with_autodiff_gradients():
  from jax.scipy.special import erf

  asgl_jax.register_surrogate(
    "test_erf", lambda u, a: 0.5 * (1 + erf(u / a)), overwrite=True
  )  # no grad: derived by autodiff
  u = jnp.linspace(-2, 2, 9)
  g_u, g_a = jax.vjp(lambda u, a: asgl_jax.spike(u, a, p=1.0, surrogate="test_erf"), u, 1.5)[1](
    jnp.ones_like(u)
  )
  un = np.asarray(u, np.float64)
  gauss = np.exp(-((un / 1.5) ** 2)) / np.sqrt(np.pi)
  np.testing.assert_allclose(g_u, gauss / 1.5, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(g_a, np.sum(-un / 1.5**2 * gauss), rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="already registered"):
    asgl_jax.register_surrogate("rect", lambda u, a: u)


@pytest.mark.parametrize(
  "kwargs, exc, match",
  [
    (dict(alpha=0.0), ValueError, "alpha"),
    (dict(alpha=-1.0), ValueError, "alpha"),
    (dict(alpha=float("nan")), ValueError, "alpha"),
    (dict(p=1.5), ValueError, "p .*1.5"),
    (dict(p=-0.1), ValueError, "p "),
    (dict(p=0.5), ValueError, "key"),
    (dict(surrogate="nope"), ValueError, "rect"),
    (dict(alpha=jnp.ones(3)), ValueError, "shape"),
    (dict(u=jnp.arange(4)), TypeError, "floating"),
    (dict(p=0.5, key="seed"), TypeError, "key"),
  ],
)
def test_bad_inputs(kwargs, exc, match):
  args = dict(u=jnp.zeros((4, 2)), alpha=1.0)
  args.update(kwargs)
  u, alpha = args.pop("u"), args.pop("alpha")
  with pytest.raises(exc, match=match):
    asgl_jax.spike(u, alpha, **args)


def test_bad_mask_shape():
  with pytest.raises(ValueError, match="mask"):
    asgl_jax.spike_with_mask(jnp.zeros((4, 2)), 1.0, jnp.ones((3,), bool))


def test_runtime_checks_catch_traced_widths_probabilities_and_decays():
  from jax.experimental import checkify

  u = jnp.linspace(-1.0, 1.0, 6)
  key = jax.random.key(0)

  def spike(a, p):
    return asgl_jax.spike(u, a, key=key, p=p)

  def lif(decay):
    return asgl_jax.lif(jnp.ones((3, 4)), 1.0, key=key, p=0.5, decay=decay)

  cases = [
    (spike, (jnp.float32(-1.0), jnp.float32(0.5)), "alpha"),
    (spike, (jnp.float32(jnp.inf), jnp.float32(0.5)), "alpha"),
    (spike, (jnp.float32(1.0), jnp.float32(1.5)), "p \\(the spike-mode probability\\)"),
    (lif, (jnp.float32(1.2),), "decay must be in \\[0, 1\\]"),
  ]
  for fn, args, what in cases:
    with asgl_jax.runtime_checks():
      err, _ = checkify.checkify(jax.jit(fn))(*args)
    with pytest.raises(checkify.JaxRuntimeError, match=what):
      err.throw()
    err, _ = checkify.checkify(jax.jit(lambda *a, fn=fn: fn(*a)))(*args)  # off: nothing added
    assert err.get() is None
  with asgl_jax.runtime_checks():
    err, _ = checkify.checkify(jax.jit(spike))(jnp.float32(0.5), jnp.float32(0.3))
  assert err.get() is None


def test_evaluation_mode_checks_the_width_too():
  with pytest.raises(ValueError, match="alpha"):
    asgl_jax.spike(jnp.zeros(3), -1.0, train=False)
