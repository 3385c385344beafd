"""NNX spiking layers."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import asgl_jax
from asgl_jax import nn


def test_lif_layer_matches_function_in_both_layouts():
  key = jax.random.key(0)
  x = jax.random.uniform(jax.random.key(1), (3, 4, 5), maxval=1.5)  # [T, B, N]
  layer = nn.LIF(alpha=0.7, decay=0.4, threshold=0.8, surrogate="sigmoid")
  ref = asgl_jax.lif(x, 0.7, key=key, p=0.5, decay=0.4, threshold=0.8, surrogate="sigmoid")
  np.testing.assert_allclose(layer(x, key=key, p=0.5), ref, rtol=1e-6)
  folded = nn.LIF(alpha=0.7, decay=0.4, threshold=0.8, surrogate="sigmoid", time_steps=3)
  out = folded(nn.fold_time(x), key=key, p=0.5)
  assert out.shape == (12, 5)
  np.testing.assert_allclose(nn.unfold_time(out, 3), ref, rtol=1e-6)
  # no state between calls
  np.testing.assert_array_equal(layer(x, key=key, p=0.5), layer(x, key=key, p=0.5))
  np.testing.assert_array_equal(
    layer(x, train=False), asgl_jax.lif(x, 1.0, decay=0.4, threshold=0.8, train=False)
  )


def test_width_and_decay_are_spiking_params():
  layer = nn.LIF(alpha=2.0, num_channels=4, learn_decay=True, decay=0.25)
  spiking = nnx.state(layer, nn.SpikingParam)
  assert set(spiking.keys()) == {"log_alpha", "decay_logit"}
  np.testing.assert_allclose(layer.alpha, np.full(4, 2.0), rtol=1e-6)
  np.testing.assert_allclose(layer.decay, np.full(4, 0.25), rtol=1e-6)
  assert isinstance(layer.log_alpha, nnx.Param)  # still selected by nnx.Param


def _grads(layer, x, **kw):
  graphdef, params, rest = nnx.split(layer, nnx.Param, ...)

  def loss(params):
    m = nnx.merge(graphdef, params, rest)
    return jnp.sum(m(x, **kw) ** 2)

  return jax.grad(loss)(params)


def test_per_channel_width_gradient_shape_and_value():
  x = jax.random.uniform(jax.random.key(1), (4, 2, 3, 3, 6), maxval=1.5)  # [T, B, H, W, C]
  layer = nn.LIF(alpha=1.0, num_channels=6)
  g = _grads(layer, x, p=0.0)
  assert g["log_alpha"][...].shape == (6,)
  # d/d(log α) = α · d/dα, and the α gradient is summed over every axis but channels.
  alpha = jnp.ones(6)
  g_alpha = jax.grad(lambda a: jnp.sum(asgl_jax.lif(x, a, p=0.0) ** 2))(alpha)
  np.testing.assert_allclose(g["log_alpha"][...], g_alpha * alpha, rtol=1e-5)


def test_frozen_width_has_zero_gradient():
  x = jax.random.uniform(jax.random.key(1), (4, 2, 3), maxval=1.5)
  g = _grads(nn.LIF(alpha=1.0, learn_alpha=False), x, p=0.0)
  assert float(g["log_alpha"][...]) == 0.0
  g = _grads(nn.LIF(alpha=1.0, learn_decay=True), x, p=0.0)
  assert float(g["log_alpha"][...]) != 0.0 and float(g["decay_logit"][...]) != 0.0


def test_recurrent_layer_matches_function():
  rngs = nnx.Rngs(0)
  layer = nn.RecurrentLIF(5, 4, rngs=rngs, alpha=0.5, synapse_decay=0.2)
  x = jax.random.uniform(jax.random.key(1), (6, 3, 5))
  key = jax.random.key(2)
  currents = x @ layer.dense.kernel[...] + layer.dense.bias[...]
  ref, _ = asgl_jax.recurrent_lif_scan(
    currents, layer.recurrent_kernel[...], 0.5, key=key, p=0.5, synapse_decay=0.2
  )
  np.testing.assert_allclose(layer(x, key=key, p=0.5), ref, rtol=1e-5, atol=1e-6)
  folded = nn.RecurrentLIF(5, 4, rngs=nnx.Rngs(0), alpha=0.5, synapse_decay=0.2, time_steps=6)
  np.testing.assert_allclose(
    nn.unfold_time(folded(nn.fold_time(x), key=key, p=0.5), 6), ref, rtol=1e-5, atol=1e-6
  )
  g = _grads(layer, x, key=key, p=0.5)
  assert g["recurrent_kernel"][...].shape == (4, 4)
  assert np.any(g["recurrent_kernel"][...] != 0)
  # Batch-major input [B, T, in]: the same spikes, still returned time-major.
  np.testing.assert_allclose(
    layer(jnp.swapaxes(x, 0, 1), key=key, p=0.5, batch_major=True), ref, rtol=1e-5, atol=1e-6
  )


def test_apply_folded_is_the_same_map_with_a_2d_matmul():
  dense = nnx.Linear(5, 3, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(0), (4, 2, 5))
  want = np.einsum("tbi,io->tbo", np.asarray(x), np.asarray(dense.kernel[...])) + np.asarray(
    dense.bias[...]
  )
  np.testing.assert_allclose(nn.apply_folded(dense, x), want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(nn.apply_folded(dense, x[0]), want[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(alpha=0.0), "alpha"),
    (dict(decay=1.5), "decay"),
    (dict(decay=1.0, learn_decay=True), "decay"),
    (dict(surrogate="box"), "rect"),
    (dict(num_channels=0), "num_channels"),
    (dict(time_steps=0), "time_steps"),
  ],
)
def test_layer_bad_config(kwargs, match):
  with pytest.raises(ValueError, match=match):
    nn.LIF(**kwargs)


def test_unfold_time_checks_divisibility():
  with pytest.raises(ValueError, match="time_steps=4"):
    nn.LIF(time_steps=4)(jnp.ones((6, 2)), train=False)


def test_log_width_init():
  assert float(nn.LIF(alpha=5.0).log_alpha[...]) == pytest.approx(math.log(5.0))


def test_clif_layer_matches_function():
  x = jax.random.uniform(jax.random.key(1), (6, 2, 5), maxval=1.5)
  key = jax.random.key(0)
  layer = nn.CLIF(beta_m=0.8, beta_s=0.4, alpha=0.7, threshold=0.5)
  ref, _ = asgl_jax.clif_scan(x, 0.7, key=key, p=0.5, beta_m=0.8, beta_s=0.4, threshold=0.5)
  np.testing.assert_allclose(layer(x, key=key, p=0.5), ref, rtol=1e-6)
  assert layer.u0 == pytest.approx(asgl_jax.clif_norm(0.8, 0.4))
  g = _grads(layer, x, key=key, p=0.5)
  assert float(g["log_alpha"][...]) != 0.0


def test_resnet_spike_amplitude_scales_every_spike_and_the_identity_shortcut():
  from asgl_jax import models

  a, t = 0.5, 2
  model = models.get_model(
    "resnet_tiny",
    num_classes=3,
    time_steps=t,
    rngs=nnx.Rngs(0),
    neuron={"threshold": 0.5},
    spike_amplitude=a,
  )
  block = model.blocks[0]  # 8 → 8 channels, stride 1: the identity shortcut
  assert block.shortcut is None
  x = a * (jax.random.uniform(jax.random.key(1), (t * 2, 32, 32, 8)) < 0.3)  # spikes of a
  # out = a · LIF2(BN(conv2(a · LIF1(BN(conv1(x))))) + x): the shortcut adds a · s unweighted
  s1 = block.lif1(block.conv1(x, train=False), p=1.0, train=False)
  want = a * block.lif2(block.conv2(a * s1, train=False) + x, p=1.0, train=False)
  got = block(x, key0=None, key1=None, p=1.0, train=False)
  np.testing.assert_array_equal(got, want)
  assert set(np.unique(np.asarray(got)).tolist()) == {0.0, a}
  out = model(jnp.ones((2, 32, 32, 3)), train=False)
  assert out.shape == (t, 2, 3) and np.all(np.isfinite(out))
  with pytest.raises(ValueError, match="spike_amplitude must be > 0"):
    models.get_model("resnet_tiny", num_classes=3, rngs=nnx.Rngs(0), spike_amplitude=0)


def test_sharpness_width_param_gradient_and_adam_step_by_hand():
  from asgl_jax import optim

  x = jax.random.uniform(jax.random.key(2), (4, 3, 5), maxval=2.0)
  alpha = 5.0
  layer = nn.LIF(alpha=alpha, surrogate="sigmoid", width_param="sharpness")
  assert float(layer.sharpness[...]) == pytest.approx(1 / alpha) and float(layer.alpha) == 5.0
  assert not hasattr(layer, "log_alpha")
  g = _grads(layer, x, p=0.0)
  # α = 1/a, so dL/da = −α² · dL/dα, with dL/dα from the function itself.
  g_alpha = jax.grad(lambda a: jnp.sum(asgl_jax.lif(x, a, p=0.0, surrogate="sigmoid") ** 2))(
    jnp.float32(alpha)
  )
  np.testing.assert_allclose(g["sharpness"][...], -(alpha**2) * g_alpha, rtol=1e-5)
  # Adam's first step is lr · sign(g): a₁ = 1/α₀ − 3e-4 · sign(g), so α₁ = 1/a₁ (the release's
  # rule), where log α would give α₁ = α₀ · exp(∓3e-4).
  tx = optim.make_optimizer(lr_schedule=0.1, spiking_lr=3e-4)
  params = {"weights": {}, "spiking": {"lif": {"sharpness": layer.sharpness[...]}}}
  grads = {"weights": {}, "spiking": {"lif": {"sharpness": g["sharpness"][...]}}}
  upd, _ = tx.update(grads, tx.init(params), params)
  a1 = 1 / alpha + float(upd["spiking"]["lif"]["sharpness"])
  want = 1 / alpha - 3e-4 * float(np.sign(g["sharpness"][...]))
  assert a1 == pytest.approx(want, rel=1e-6)
  assert abs(1 / a1 - alpha) == pytest.approx(alpha**2 * 3e-4, rel=1e-2)  # ≈ α²·lr: 7.5e-3
  from asgl_jax.train import step

  assert step.widths({"spiking": {"lif": {"sharpness": jnp.float32(0.2)}}}) == {
    "lif": pytest.approx(5.0)
  }
  with pytest.raises(ValueError, match="width_param must be one of"):
    nn.LIF(width_param="linear")
