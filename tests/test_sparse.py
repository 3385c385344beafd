"""Event-driven synaptic currents: asgl_jax.spike_matmul and the layers that use it."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import asgl_jax
from asgl_jax import models, nn
from asgl_jax.cpu import event_matmul

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def event_driven_at_any_size(monkeypatch):
  """The tests' small products would otherwise stay with the dense matmul (see the last test)."""
  monkeypatch.setattr(event_matmul, "EVENT_DRIVEN_MIN_MACS", 0)


def _spikes(shape, density=0.05, seed=0, dtype=np.bool_):
  rng = np.random.default_rng(seed)
  s = rng.random(shape) < density
  if dtype != np.bool_:
    s = s * rng.integers(1, 4, shape)  # spike counts 1..3 where a spike fell
  return s.astype(dtype)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32])
@pytest.mark.parametrize("shape", [(7,), (30, 7), (4, 5, 7), (5000, 7)])
def test_value_and_weight_gradient_match_the_formulas(shape, dtype):
  # (5000, 7) is split into row blocks run in parallel threads; the others are one block.
  s = _spikes(shape, dtype=dtype)
  rng = np.random.default_rng(1)
  w = rng.normal(size=(7, 3)).astype(np.float32)
  g = rng.normal(size=(*shape[:-1], 3)).astype(np.float32)
  s64 = s.astype(np.float64).reshape(-1, 7)
  # c = W s (paper Eq. 1) row by row; ∂/∂W of Σ g·c is sᵀ g.
  want = (s64 @ w.astype(np.float64)).reshape(g.shape)
  want_dw = s64.T @ g.astype(np.float64).reshape(-1, 3)

  out = jax.jit(asgl_jax.spike_matmul)(s, w)
  assert out.shape == g.shape and out.dtype == jnp.float32
  np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(asgl_jax.spike_matmul(s, w), want, rtol=1e-5, atol=1e-5)
  dw = jax.jit(jax.grad(lambda w: jnp.sum(asgl_jax.spike_matmul(s, w) * g)))(w)
  np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-4)


def test_no_spikes_and_no_rows():
  w = jnp.ones((6, 2))
  np.testing.assert_array_equal(asgl_jax.spike_matmul(np.zeros((3, 6), bool), w), 0.0)
  assert asgl_jax.spike_matmul(np.zeros((0, 6), bool), w).shape == (0, 2)
  dw = jax.grad(lambda w: asgl_jax.spike_matmul(np.zeros((0, 6), bool), w).sum())(w)
  np.testing.assert_array_equal(dw, 0.0)


def test_vmap_and_float64():
  s = _spikes((3, 4, 9))
  w = np.random.default_rng(0).normal(size=(9, 2))
  out = jax.vmap(asgl_jax.spike_matmul, (0, None))(s, w.astype(np.float32))
  np.testing.assert_allclose(out, s.astype(np.float32) @ w.astype(np.float32), rtol=1e-5)
  with jax.enable_x64(True):
    out64 = asgl_jax.spike_matmul(s, jnp.asarray(w, jnp.float64))
    assert out64.dtype == jnp.float64
    np.testing.assert_allclose(out64, s @ w, rtol=1e-12)


def test_low_precision_weights_take_the_dense_product():
  s = _spikes((8, 5))
  w = jnp.asarray(np.random.default_rng(0).normal(size=(5, 4)), jnp.bfloat16)
  out = asgl_jax.spike_matmul(s, w)
  assert out.dtype == jnp.bfloat16
  np.testing.assert_array_equal(out, jnp.asarray(s, jnp.bfloat16) @ w)


def test_event_driven_on_cpu_dense_matmul_on_gpu_and_tpu():
  s = jnp.asarray(_spikes((4, 6)))
  step = jax.jit(jax.value_and_grad(lambda w: jnp.sum(asgl_jax.spike_matmul(s, w) ** 2)))
  traced = step.trace(jnp.ones((6, 3)))
  cpu = traced.lower(lowering_platforms=("cpu",)).as_text()
  assert "callback" in cpu and "dot_general" not in cpu
  for platform in ("cuda", "tpu"):
    text = traced.lower(lowering_platforms=(platform,)).as_text()
    assert "callback" not in text and text.count("dot_general") == 2, platform


@pytest.mark.parametrize("density", [0.02, 0.5])
def test_sparse_and_dense_host_paths_match_the_formulas(monkeypatch, density):
  # Below DENSE_ABOVE the host kernels take the CSR product, above it NumPy's dense one.
  used = []
  real = event_matmul.mostly_dense
  monkeypatch.setattr(event_matmul, "mostly_dense", lambda s: used.append(real(s)) or used[-1])
  s = _spikes((5000, 50), density=density)
  w = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
  v, dw = jax.jit(jax.value_and_grad(lambda w: jnp.sum(asgl_jax.spike_matmul(s, w) ** 2)))(w)
  c = s.astype(np.float64) @ w
  np.testing.assert_allclose(v, np.sum(c**2), rtol=1e-5)
  np.testing.assert_allclose(dw, s.T.astype(np.float64) @ (2 * c), rtol=1e-4, atol=1e-4)
  assert used == [density > event_matmul.DENSE_ABOVE] * 2  # forward and weight gradient


@pytest.mark.parametrize(
  "s, w, err, match",
  [
    (np.ones((2, 3), np.float32), np.ones((3, 2), np.float32), TypeError, "bool or integer"),
    (np.ones((2, 3), bool), np.ones((4, 2), np.float32), ValueError, "matching F"),
    (np.ones((2, 3), bool), np.ones((3,), np.float32), ValueError, "matching F"),
    (np.ones((2, 3), bool), np.ones((3, 2), np.int32), TypeError, "floating-point"),
  ],
)
def test_bad_inputs_are_rejected(s, w, err, match):
  with pytest.raises(err, match=match):
    asgl_jax.spike_matmul(s, w)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8])
def test_apply_folded_takes_spikes_event_driven_with_the_same_values_and_gradients(dtype):
  layer = nnx.Linear(9, 4, rngs=nnx.Rngs(0))
  s = _spikes((6, 5, 9), density=0.2, dtype=dtype)

  def loss(layer, x):
    return jnp.sum(jnp.tanh(nn.apply_folded(layer, x)))

  got, got_g = nnx.value_and_grad(loss)(layer, jnp.asarray(s))
  want, want_g = nnx.value_and_grad(loss)(layer, jnp.asarray(s, jnp.float32))
  np.testing.assert_allclose(got, want, rtol=1e-5)
  np.testing.assert_allclose(got_g.kernel[...], want_g.kernel[...], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(got_g.bias[...], want_g.bias[...], rtol=1e-5, atol=1e-6)
  lowered = jax.jit(lambda x: nn.apply_folded(layer, x)).lower(jnp.asarray(s)).as_text()
  assert "callback" in lowered


def test_apply_folded_casts_spikes_to_float_for_other_layers():
  seen = []

  def layer(x):
    seen.append(x.dtype)
    return x * 2

  out = nn.apply_folded(layer, jnp.ones((2, 3, 4), jnp.uint8))
  assert seen == [jnp.float32] and out.dtype == jnp.float32
  # A Linear with a compute dtype of its own keeps its own (dense) product.
  bf16 = nnx.Linear(4, 2, dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
  assert nn.apply_folded(bf16, jnp.ones((3, 4), bool)).dtype == jnp.bfloat16


def test_spiking_rnn_gives_the_same_training_gradients_for_uint8_and_float_spikes():
  model = models.SpikingRNN(12, 8, num_classes=3, time_steps=6, batch_major=True, rngs=nnx.Rngs(0))
  x = _spikes((4, 6, 12), density=0.3, dtype=np.uint8)
  key = jax.random.key(0)

  def loss(m, x):
    return jnp.sum(m(x, key=key, p=0.8) ** 2)

  got, got_g = nnx.value_and_grad(loss)(model, jnp.asarray(x))
  want, want_g = nnx.value_and_grad(loss)(model, jnp.asarray(x, jnp.float32))
  np.testing.assert_allclose(got, want, rtol=1e-5)
  for a, b in zip(jax.tree.leaves(got_g), jax.tree.leaves(want_g), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_row_blocks_cover_every_row_once():
  for n in (0, 1, 2047, 4096, 10_001):
    blocks = event_matmul.row_blocks(n)
    covered = np.concatenate([np.arange(n)[b] for b in blocks]) if blocks else []
    np.testing.assert_array_equal(covered, np.arange(n))
    assert len(blocks) <= max(1, os.cpu_count() or 1)


def test_same_values_under_a_sharded_jit_on_4_devices_without_host_calls():
  code = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import NamedSharding, PartitionSpec as P
    import asgl_jax
    from asgl_jax.cpu import event_matmul
    event_matmul.EVENT_DRIVEN_MIN_MACS = 0
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(0)
    s = rng.random((8, 10, 70)) < 0.1
    w = rng.normal(size=(70, 24)).astype(np.float32)
    f = jax.jit(jax.value_and_grad(lambda w, s: jnp.sum(jnp.sin(asgl_jax.spike_matmul(s, w)))))
    args = (jax.device_put(w, NamedSharding(mesh, P())),
            jax.device_put(s, NamedSharding(mesh, P("data"))))
    v, g = f(*args)
    # A host callback is not partitioned: with several CPU devices the dense, partitioned product.
    assert "callback" not in f.lower(*args).compile().as_text()
    c = s.reshape(-1, 70).astype(np.float64) @ w
    np.testing.assert_allclose(v, np.sin(c).sum(), rtol=1e-5)
    gc = np.cos(c)
    np.testing.assert_allclose(g, s.reshape(-1, 70).T @ gc, rtol=1e-4, atol=1e-4)
    print("EQUAL")
    """
  )
  env = dict(os.environ, PYTHONPATH=ROOT)
  r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
  assert r.returncode == 0, r.stderr[-3000:]
  assert "EQUAL" in r.stdout


def test_small_products_stay_dense_on_cpu(monkeypatch):
  monkeypatch.setattr(event_matmul, "EVENT_DRIVEN_MIN_MACS", 1000)
  w = jnp.ones((10, 10))

  def lowered(rows):
    return jax.jit(asgl_jax.spike_matmul).lower(jnp.zeros((rows, 10), bool), w).as_text()

  assert "callback" not in lowered(9)  # 900 multiply-adds
  assert "callback" in lowered(10)  # 1000


def test_without_buffer_callback_every_backend_takes_the_dense_product(monkeypatch):
  """A JAX version without ``jax.experimental.buffer_callback``: the dense product, with the
  values and weight gradient of the formulas (``s·W`` and ``sᵀ·g``)."""
  monkeypatch.setattr(event_matmul, "buffer_callback", None)
  s = _spikes((40, 7), density=0.3)
  w = np.random.default_rng(1).normal(size=(7, 3)).astype(np.float32)
  g = np.random.default_rng(2).normal(size=(40, 3)).astype(np.float32)
  f = jax.jit(lambda w: jnp.sum(asgl_jax.spike_matmul(s, w) * g))
  value, grad = jax.value_and_grad(f)(w)
  sf = s.astype(np.float64)
  np.testing.assert_allclose(value, np.sum((sf @ w) * g), rtol=1e-5)
  np.testing.assert_allclose(grad, sf.T @ g, rtol=1e-5, atol=1e-6)
  assert "callback" not in jax.jit(jax.grad(f)).lower(w).as_text()


def test_without_a_cpu_backend_the_device_check_does_not_fail(monkeypatch):
  """``JAX_PLATFORMS=cuda`` leaves no CPU backend: ``jax.devices("cpu")`` raises, and the
  check whether host callbacks may run must not turn that into an error at trace time."""

  def no_cpu(backend=None):
    raise RuntimeError(f"Unknown backend {backend}")

  event_matmul.several_cpu_devices.cache_clear()
  monkeypatch.setattr(jax, "devices", no_cpu)
  try:
    assert event_matmul.several_cpu_devices() is False
  finally:
    event_matmul.several_cpu_devices.cache_clear()
