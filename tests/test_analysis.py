"""Analysis tools against hand counts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from asgl_jax import analysis, models


def _mlp():
  m = models.SpikingMLP(
    3, [4], num_classes=2, time_steps=2, rngs=nnx.Rngs(0), neuron={"threshold": 0.3}
  )
  m.dense[0].kernel[...] = jnp.array(
    [[1.0, 0.0, 0.5, -1.0], [0.0, 1.0, 0.5, -1.0], [0.0, 0.0, 0.0, -1.0]]
  )
  m.dense[0].bias[...] = jnp.zeros(4)
  return m


def test_energy_counts_match_hand_counts():
  m = _mlp()
  x = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
  e = analysis.synaptic_operations(m, x)
  first, head = e["layers"]
  # first layer: analog input, 3 inputs × fan-out 4 = 12 MACs, computed once for a static image
  assert first["snn_op_kind"] == "MAC" and first["ann_macs"] == 12 and first["snn_ops"] == 12
  assert first["steps_computed"] == 1
  # head: fan-out 2 per hidden spike, summed over both steps, averaged over the batch
  layers, _ = analysis.record_layers(m, x)
  spikes = np.asarray(layers["lifs/0"]["spikes"])  # [T, B, 4]
  assert head["snn_op_kind"] == "AC" and head["snn_ops"] == pytest.approx(2 * spikes.sum() / 2)
  assert head["ann_macs"] == 8
  snn = 12 * 4.6 + head["snn_ops"] * 0.9
  assert e["snn_energy_pj"] == pytest.approx(snn)
  assert e["ann_energy_pj"] == pytest.approx((12 + 8) * 4.6)
  assert e["energy_ratio"] == pytest.approx(snn / ((12 + 8) * 4.6))


def test_conv_fan_out_is_exact_at_the_borders():
  m = models.SpikingConvNet(
    (1,), num_classes=2, in_channels=2, input_size=4, time_steps=1, rngs=nnx.Rngs(0)
  )
  e = analysis.synaptic_operations(m, jnp.ones((1, 4, 4, 2)))
  # 3×3 kernel, padding 1, 4×4 map: 4 corners × 4 + 8 edges × 6 + 4 inner × 9 = 100 pairs per channel pair
  assert e["layers"][0]["ann_macs"] == 100 * 2 * 1


def test_spike_statistics_against_formulas():
  m = _mlp()
  x = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
  stats = analysis.spike_statistics(m, x)["lifs/0"]
  layers, _ = analysis.record_layers(m, x)
  s = np.asarray(layers["lifs/0"]["spikes"])
  u = np.asarray(layers["lifs/0"]["potential"])
  assert stats["firing_rate"] == pytest.approx(s.mean())
  # neuron 3 has weight −1 from every input: it never fires
  assert stats["dead_fraction"] == pytest.approx(np.mean(s.sum(axis=(0, 1)) == 0))
  assert s[..., 3].sum() == 0
  h = np.clip(u + 0.5, 0, 1)  # rect, α = 1
  theta = (u >= 0).astype(float)
  cos = (h * theta).sum() / np.linalg.norm(h) / np.linalg.norm(theta)
  assert stats["smoothing_error"] == pytest.approx(1 - cos, abs=1e-6)


def test_noisy_snn_similarity_is_one_at_p_one_and_lower_at_p_zero():
  m = models.get_model(
    "cnn_tiny", num_classes=3, time_steps=2, rngs=nnx.Rngs(0), neuron={"threshold": 0.5}
  )
  x = jax.random.normal(jax.random.key(0), (4, 28, 28, 1))
  key = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(1), i))(jnp.arange(4))
  sim1 = analysis.noisy_snn_similarity(m, x, key=key, p=1.0)
  sim0 = analysis.noisy_snn_similarity(m, x, key=key, p=0.0)
  assert all(v == pytest.approx(1.0) for v in sim1.values())
  assert all(v < 1.0 for v in sim0.values())


def test_analyze_and_plot(tmp_path):
  m = models.get_model("cnn_tiny", num_classes=3, time_steps=2, rngs=nnx.Rngs(0))
  x = jax.random.normal(jax.random.key(0), (2, 28, 28, 1))
  res = analysis.analyze(m, x, key=jax.random.key(0), p=0.5)
  assert set(res["layers"]) == {"conv_lifs/0", "conv_lifs/1"}
  assert 0 < res["energy"]["energy_ratio"]
  analysis.plot_analysis(res, str(tmp_path / "a.png"))
  analysis.write_analysis(res, str(tmp_path / "a.json"))
  assert (tmp_path / "a.png").stat().st_size > 0


def test_psnr_against_formula():
  x = np.zeros((2, 4, 4))
  y = x.copy()
  y[0] += 0.1  # MSE 0.01 → 20 dB
  y[1, 0, 0] = 1.0  # MSE 1/16 → 10·log10(16)
  np.testing.assert_allclose(analysis.psnr(x, y), [20.0, 10 * np.log10(16)], rtol=1e-5)


def _ssim_loops(x, y, win=11, sigma=1.5):
  g = np.exp(-((np.arange(win) - (win - 1) / 2) ** 2) / (2 * sigma**2))
  w = np.outer(g, g) / g.sum() ** 2
  c1, c2 = 0.01**2, 0.03**2
  vals = []
  for i in range(x.shape[0] - win + 1):
    for j in range(x.shape[1] - win + 1):
      a, b = x[i : i + win, j : j + win], y[i : i + win, j : j + win]
      ma, mb = (w * a).sum(), (w * b).sum()
      va, vb = (w * a * a).sum() - ma**2, (w * b * b).sum() - mb**2
      cab = (w * a * b).sum() - ma * mb
      vals.append((2 * ma * mb + c1) * (2 * cab + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
  return np.mean(vals)


def test_ssim_against_a_direct_loop_implementation():
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(2, 16, 16))
  y = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1)
  got = np.asarray(analysis.ssim(x, y))
  want = [_ssim_loops(x[i], y[i]) for i in range(2)]
  np.testing.assert_allclose(got, want, rtol=1e-4)
  np.testing.assert_allclose(analysis.ssim(x, x), [1.0, 1.0], rtol=1e-5)


def test_recurrent_and_sequence_counts():
  m = models.SpikingRNN(
    5, 6, num_classes=2, time_steps=4, rngs=nnx.Rngs(0), neuron={"threshold": 0.2}
  )
  x = (jax.random.uniform(jax.random.key(0), (4, 3, 5)) < 0.5).astype(jnp.float32)
  e = analysis.synaptic_operations(m, x, direct_input=False)
  by = {r["layer"]: r for r in e["layers"]}
  # feedforward W: input spikes × fan-out 6, over all steps; the ANN runs it every step
  assert by["0:Linear"]["snn_ops"] == pytest.approx(float(x.sum()) * 6 / 3)
  assert by["0:Linear"]["ann_macs"] == 5 * 6 * 4
  # recurrent V: spikes of steps 0..T-2 × fan-out 6
  layers, _ = analysis.record_layers(m, x)
  s = np.asarray(layers["recurrent"]["spikes"])
  assert s.sum() > 0
  assert by["recurrent:recurrent"]["snn_ops"] == pytest.approx(s[:-1].sum() * 6 / 3)
  assert by["recurrent:recurrent"]["ann_macs"] == 6 * 6 * 4
  assert by["1:Linear"]["ann_macs"] == 6 * 2 * 4


def _known_rsnn():
  """An RSNN 3-2(recurrent)-2 whose hidden spikes are known by hand: input
  weights 2 (threshold 1, γ = 0.5), no recurrent drive, so a hidden neuron fires exactly at the
  steps where some input spikes."""
  model = models.get_model(
    "rsnn", num_classes=2, time_steps=3, in_features=3, hidden=2, rngs=nnx.Rngs(0)
  )
  model.recurrent.dense.kernel[...] = jnp.full((3, 2), 2.0)
  model.recurrent.dense.bias[...] = jnp.zeros(2)
  model.recurrent.recurrent_kernel[...] = jnp.zeros((2, 2))
  return model


def test_energy_of_a_spike_input_network_counts_its_input_layer_for_every_dtype():
  model = _known_rsnn()
  spikes = np.array([[[1, 0, 1]], [[0, 0, 0]], [[0, 1, 0]]], bool)  # [T = 3, B = 1, F = 3]
  # hidden spikes: [[1, 1], [0, 0], [1, 1]] (inputs at t = 0 and t = 2 only)
  want_layers = [
    ("input", 3 * 2, 3 * 2 * 3),  # 3 input spikes × fan-out 2; the ANN: 3·2 MACs × 3 steps
    ("readout", 4 * 2, 2 * 2 * 3),  # 4 hidden spikes × 2 classes
    ("recurrent", 2 * 2, 2 * 2 * 3),  # the spikes of t = 0, 1 reach t = 1, 2: 2 spikes × 2
  ]
  results = [
    analysis.synaptic_operations(model, jnp.asarray(spikes)),
    analysis.synaptic_operations(model, jnp.asarray(spikes, jnp.uint8)),
    analysis.synaptic_operations(model, jnp.asarray(spikes, jnp.float32), direct_input=False),
  ]
  for res in results:
    layers = res["layers"]
    assert len(layers) == 3, [r["layer"] for r in layers]
    assert [r["snn_op_kind"] for r in layers] == ["AC", "AC", "AC"]  # nothing counted as MAC
    assert [r["snn_ops"] for r in layers] == [w[1] for w in want_layers]
    assert [r["ann_macs"] for r in layers] == [w[2] for w in want_layers]
    assert res["sop"] == 18 and res["mac"] == 42
    np.testing.assert_allclose(res["energy_ratio"], 18 * 0.9 / (42 * 4.6))
  assert results[0]["layers"][0]["layer"].endswith("Linear")  # the input projection comes first
  # float input is analog unless told: then the first layer is a MAC layer
  analog = analysis.synaptic_operations(model, jnp.asarray(spikes, jnp.float32))
  assert analog["layers"][0]["snn_op_kind"] == "MAC"


def test_per_sample_cosine_by_hand():
  a = np.array([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]])  # [T = 2, B = 2, N = 2]
  b = np.array([[[1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]]])
  # example 0: a = (1,0,1,0), b = (1,1,0,0): cos = 1/(√2·√2) = 0.5; example 1: a = 0, b ≠ 0: 0
  np.testing.assert_allclose(analysis.per_example_cosine(a, b), [0.5, 0.0])
  np.testing.assert_allclose(analysis.per_example_cosine(a * 0, b * 0), [1.0, 1.0])


def test_paper_metrics_against_a_one_step_network_by_hand():
  """T = 1: u = W x − ϑ, the SNN fires where u ≥ 0, the analog network outputs
  H_α(u) = clip(u/α + 1/2, 0, 1) (rect, α = 1); no reset or decay is involved."""
  m = models.SpikingMLP(
    3, [4], num_classes=2, time_steps=1, rngs=nnx.Rngs(0), neuron={"threshold": 0.3}
  )
  w = np.array([[1.0, 0.0, 0.5, -1.0], [0.0, 1.0, 0.5, -1.0], [0.0, 0.0, 0.0, -1.0]])
  m.dense[0].kernel[...] = jnp.asarray(w)
  m.dense[0].bias[...] = jnp.zeros(4)
  x = np.array([[1.0, 0.0, 0.0], [0.0, 0.2, 0.0], [0.4, 0.4, 0.0]], np.float32)
  u = x @ w - 0.3  # [B, 4]
  s = (u >= 0).astype(np.float64)
  h = np.clip(u + 0.5, 0.0, 1.0)
  res = analysis.paper_metrics(m, jnp.asarray(x), key=jax.random.key(0), p=0.5)
  # dead: neurons silent for each example, averaged: s = [1,0,1,0], [0,0,0,0], [1,1,1,0]
  assert s.sum(axis=1).tolist() == [2, 0, 3]
  np.testing.assert_allclose(res["dead_fraction"]["lifs/0"], np.mean([2 / 4, 4 / 4, 1 / 4]))
  cos = [
    0.0 if not s[i].any() else h[i] @ s[i] / (np.linalg.norm(h[i]) * np.linalg.norm(s[i]))
    for i in range(3)
  ]
  np.testing.assert_allclose(res["smoothing_error"]["lifs/0"], 1 - np.mean(cos), rtol=1e-5)
  # the pooled variant differs: one cosine over all examples
  pooled = 1 - (h.ravel() @ s.ravel()) / (np.linalg.norm(h) * np.linalg.norm(s))
  assert abs(res["smoothing_error"]["lifs/0"] - pooled) > 0.05
  assert 0.0 <= res["similarity"]["mean"] <= 1.0 and res["similarity"]["std"] >= 0.0
