"""NIR export/import: an independent discrete-time NIR interpreter (numpy) reproduces our SNNs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from asgl_jax import export, models, nn
from asgl_jax.models import common

nir = pytest.importorskip("nir")


# ----------------------------------------------------------------------------- interpreter


def _conv2d(x, w, b, pad, stride):
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
  kh, kw = w.shape[2:]
  oh = (xp.shape[1] - kh) // stride + 1
  ow = (xp.shape[2] - kw) // stride + 1
  out = np.zeros((w.shape[0], oh, ow))
  for u in range(kh):
    for v in range(kw):
      patch = xp[:, u : u + stride * (oh - 1) + 1 : stride, v : v + stride * (ow - 1) + 1 : stride]
      out += np.einsum("oc,chw->ohw", w[:, :, u, v], patch)
  return out + b[:, None, None]


def _avgpool(x, k, s):
  c, h, w = x.shape
  assert tuple(k) == tuple(s)
  return (
    x[:, : h // k[0] * k[0], : w // k[1] * k[1]]
    .reshape(c, h // k[0], k[0], w // k[1], k[1])
    .mean((2, 4))
  )


def simulate(graph, xs, dt, trace=()):
  """Forward-Euler simulation of a NIR graph on one example ``xs [T, ...]`` (float64).

  A node's input is the sum over its incoming edges; an edge that closes a cycle
  carries its source's output of the previous step.
  Spikes fire at ``v >= v_threshold`` and reset ``v`` to ``v_reset``.
  """
  nodes = graph.nodes
  start = next(k for k, v in nodes.items() if isinstance(v, nir.Input))
  # Back edges (those closing a cycle) found by depth-first search; the rest is a DAG,
  # evaluated in topological order (Kahn).
  back, on_stack, seen = set(), set(), set()

  def dfs(a):
    seen.add(a)
    on_stack.add(a)
    for e0, e1 in graph.edges:
      if e0 == a:
        if e1 in on_stack:
          back.add((e0, e1))
        elif e1 not in seen:
          dfs(e1)
    on_stack.discard(a)

  dfs(start)
  fwd = [e for e in graph.edges if e not in back]
  indeg = {k: sum(1 for _, b in fwd if b == k) for k in nodes}
  order, ready = [], [start]
  while ready:
    a = ready.pop(0)
    order.append(a)
    for e0, e1 in fwd:
      if e0 == a:
        indeg[e1] -= 1
        if indeg[e1] == 0:
          ready.append(e1)
  state, prev, outs = {}, {}, []
  traces = {k: [] for k in trace}
  for x in xs:
    cur = {}
    for name in order:
      node = nodes[name]
      if isinstance(node, nir.Input):
        cur[name] = np.asarray(x, np.float64)
        continue
      srcs = [a for a, b in graph.edges if b == name]
      vals = [(prev.get(a, 0.0) if (a, name) in back else cur[a]) for a in srcs]
      inp = sum(vals[1:], vals[0])
      if isinstance(node, nir.Affine):
        y = np.asarray(node.weight, np.float64) @ inp + np.asarray(node.bias, np.float64)
      elif isinstance(node, nir.Linear):
        y = np.asarray(node.weight, np.float64) @ inp
      elif isinstance(node, nir.Conv2d):
        y = _conv2d(
          inp,
          np.asarray(node.weight, np.float64),
          np.asarray(node.bias, np.float64),
          int(np.ravel(node.padding)[0]),
          int(np.ravel(node.stride)[0]),
        )
      elif isinstance(node, nir.Scale):
        y = np.asarray(node.scale, np.float64) * inp
      elif isinstance(node, nir.AvgPool2d):
        y = _avgpool(inp, node.kernel_size, node.stride)
      elif isinstance(node, nir.SumPool2d):
        y = _avgpool(inp, node.kernel_size, node.stride) * np.prod(node.kernel_size)
      elif isinstance(node, nir.Flatten):
        y = inp.reshape(-1)
      elif isinstance(node, nir.LIF):
        v = state.get(name, np.zeros_like(inp))
        v = v + dt / node.tau * (node.v_leak - v + node.r * inp)
        y = (v >= node.v_threshold).astype(np.float64)
        state[name] = np.where(y > 0, node.v_reset, v)
      elif isinstance(node, nir.CubaLIF):
        i_syn, v = state.get(name, (np.zeros_like(inp), np.zeros_like(inp)))
        i_syn = i_syn + dt / node.tau_syn * (-i_syn + node.w_in * inp)
        v = v + dt / node.tau_mem * (node.v_leak - v + node.r * i_syn)
        y = (v >= node.v_threshold).astype(np.float64)
        state[name] = (i_syn, np.where(y > 0, node.v_reset, v))
      elif isinstance(node, nir.Output):
        y = inp
        outs.append(y)
      else:
        raise NotImplementedError(type(node))
      cur[name] = y
      if name in traces:
        traces[name].append(y)
    prev = cur
  if trace:
    return np.stack(outs), {k: np.stack(v) for k, v in traces.items()}
  return np.stack(outs)


def _randomize_bn(model, seed=0):
  rng = np.random.default_rng(seed)
  for path, var in nnx.iter_graph(model):
    if isinstance(var, nnx.BatchStat):
      shape = var[...].shape
      var[...] = rng.uniform(0.5, 1.5, shape) if path[-1] == "var" else rng.normal(0, 0.3, shape)


def _ours(model, x):
  return np.asarray(model(jnp.asarray(x), train=False), np.float64)  # [T, B, C]


def _check(model, graph, x_ours, x_nir_seq, dt):
  out = _ours(model, x_ours)
  assert np.abs(out).max() > 0
  for b in range(x_nir_seq.shape[1]):
    sim = simulate(graph, x_nir_seq[:, b], dt)
    np.testing.assert_allclose(sim, out[:, b], rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("dt", [1.0, 1e-3])
def test_mlp_export_matches_interpreter_and_roundtrips_through_a_file(tmp_path, dt):
  model = models.SpikingMLP(
    20,
    [16, 12],
    num_classes=5,
    time_steps=6,
    rngs=nnx.Rngs(0),
    neuron={"decay": 0.7, "threshold": 0.4},
  )
  x = jax.random.normal(jax.random.key(1), (3, 20)) * 2.0
  graph = export.to_nir(model, dt=dt)
  nir.write(tmp_path / "mlp.nir", graph)
  graph2 = nir.read(tmp_path / "mlp.nir")
  assert set(graph2.nodes) == set(graph.nodes)
  seq = np.broadcast_to(np.asarray(x, np.float64)[None], (6, 3, 20))  # direct input at every step
  _check(model, graph2, x, seq, dt)
  # the same spikes, layer by layer, as our embedded SNN
  h = common.repeat_time(model.dense[0](x), 6)
  s0 = nn.unfold_time(model.lifs[0](h, train=False), 6)
  s1 = nn.unfold_time(model.lifs[1](model.dense[1](nn.fold_time(s0)), train=False), 6)
  for b in range(3):
    _, tr = simulate(graph2, seq[:, b], dt, trace=("lif0", "lif1"))
    np.testing.assert_array_equal(tr["lif0"], np.asarray(s0[:, b]))
    np.testing.assert_array_equal(tr["lif1"], np.asarray(s1[:, b]))
  assert 0 < float(s0.mean()) < 1 and 0 < float(s1.mean()) < 1
  lif = graph.nodes["lif0"]
  np.testing.assert_allclose(lif.tau, dt / (1 - 0.7), rtol=1e-6)
  np.testing.assert_array_equal(lif.r, 1.0)  # r = 1: NIR's v is (1 − γ)·u, so is its threshold
  np.testing.assert_allclose(lif.v_threshold, (1 - 0.7) * 0.4, rtol=1e-6)


@pytest.mark.parametrize("pooling", ["sum", "avg"])
def test_convnet_export_folds_bn_and_matches_interpreter(tmp_path, pooling):
  model = models.get_model(
    "cnn_tiny", num_classes=4, time_steps=3, rngs=nnx.Rngs(2), neuron={"threshold": 0.5}
  )
  _randomize_bn(model)
  x = jax.random.normal(jax.random.key(3), (2, 28, 28, 1)) * 2.0
  graph = export.to_nir(model, input_shape=(28, 28, 1), pooling=pooling)
  pool = nir.SumPool2d if pooling == "sum" else nir.AvgPool2d
  assert sum(isinstance(n, pool) for n in graph.nodes.values()) == 2
  nir.write(tmp_path / "cnn.nir", graph)
  graph = nir.read(tmp_path / "cnn.nir")
  assert any(isinstance(n, nir.Conv2d) for n in graph.nodes.values())
  chw = np.transpose(np.asarray(x, np.float64), (0, 3, 1, 2))
  _check(model, graph, x, np.broadcast_to(chw[None], (3, *chw.shape)), 1e-4)


def test_fc_head_after_flatten_uses_nir_channel_first_order():
  model = models.SpikingConvNet(
    (3, "A"),
    fc=(6,),
    num_classes=2,
    in_channels=2,
    input_size=8,
    time_steps=2,
    rngs=nnx.Rngs(4),
    neuron={"threshold": 0.3},
  )
  _randomize_bn(model, 1)
  x = jax.random.normal(jax.random.key(5), (2, 8, 8, 2)) * 2
  graph = export.to_nir(model, input_shape=(8, 8, 2))
  chw = np.transpose(np.asarray(x, np.float64), (0, 3, 1, 2))
  _check(model, graph, x, np.broadcast_to(chw[None], (2, *chw.shape)), 1e-4)


@pytest.mark.parametrize("synapse_decay", [0.0, 0.6])
def test_recurrent_export_matches_interpreter(synapse_decay):
  model = models.SpikingRNN(
    10,
    8,
    num_classes=3,
    time_steps=12,
    rngs=nnx.Rngs(0),
    synapse_decay=synapse_decay,
    neuron={"threshold": 0.5},
  )
  x = (jax.random.uniform(jax.random.key(1), (12, 2, 10)) < 0.4).astype(jnp.float32) * 1.5
  graph = export.to_nir(model)
  kinds = {type(n).__name__ for n in graph.nodes.values()}
  assert ("CubaLIF" if synapse_decay else "LIF") in kinds and "Linear" in kinds
  _check(model, graph, x, np.asarray(x, np.float64), 1e-4)
  spikes = np.asarray(model.recurrent(x, train=False))
  for b in range(2):
    _, tr = simulate(graph, np.asarray(x[:, b], np.float64), 1e-4, trace=("lif",))
    np.testing.assert_array_equal(tr["lif"], spikes[:, b])
  assert 0 < spikes.mean() < 1


def test_from_nir_rebuilds_an_equivalent_model():
  src = models.SpikingMLP(
    7, [9], num_classes=3, time_steps=5, rngs=nnx.Rngs(1), neuron={"decay": 0.25, "threshold": 0.6}
  )
  graph = export.to_nir(src, dt=0.5)
  back = export.from_nir(graph, time_steps=5)  # dt from the graph's metadata
  np.testing.assert_allclose(back.dense[0].kernel[...], src.dense[0].kernel[...])
  np.testing.assert_allclose(back.lifs[0].threshold, 0.6, rtol=1e-6)
  np.testing.assert_allclose(back.lifs[0].decay, 0.25, rtol=1e-6)
  # a foreign graph with a different R per neuron: the input gain R·dt/τ goes into the weights
  graph.nodes["lif0"].r = graph.nodes["lif0"].r * np.linspace(1.0, 2.0, 9)
  model = export.from_nir(graph, dt=0.5, time_steps=5)
  x = jax.random.normal(jax.random.key(0), (5, 2, 7)) * 2
  out = _ours(model, x)
  for b in range(2):
    np.testing.assert_allclose(
      simulate(graph, np.asarray(x[:, b], np.float64), 0.5), out[:, b], rtol=1e-4, atol=1e-4
    )


def test_what_nir_cannot_express_is_an_error():
  with pytest.raises(export.NIRExportError, match="max pooling"):
    m = models.SpikingConvNet(
      (4, "M"), num_classes=2, in_channels=1, input_size=8, time_steps=2, rngs=nnx.Rngs(0)
    )
    export.to_nir(m, input_shape=(8, 8, 1))
  with pytest.raises(export.NIRExportError, match="C-LIF"):
    export.to_nir(models.SpikingCLIFNet(4, 3, num_classes=2, time_steps=2, rngs=nnx.Rngs(0)))
  with pytest.raises(export.NIRExportError, match="decay"):
    export.to_nir(
      models.SpikingMLP(
        3, [2], num_classes=2, time_steps=2, rngs=nnx.Rngs(0), neuron={"decay": 1.0}
      )
    )
  g = export.to_nir(models.SpikingMLP(3, [2], num_classes=2, time_steps=2, rngs=nnx.Rngs(0)))
  g.nodes["lif0"].v_leak = np.ones(2)
  with pytest.raises(export.NIRExportError, match="v_leak"):
    export.from_nir(g)


@pytest.mark.parametrize("amplitude", [1.0, 0.5])
def test_resnet_export_with_shortcuts_matches_interpreter(tmp_path, amplitude):
  model = models.get_model(
    "resnet_tiny",
    num_classes=3,
    time_steps=2,
    rngs=nnx.Rngs(6),
    neuron={"threshold": 0.5},
    spike_amplitude=amplitude,
  )
  _randomize_bn(model, 2)
  x = jax.random.normal(jax.random.key(7), (2, 32, 32, 3)) * 2
  graph = export.to_nir(model, input_shape=(32, 32, 3))
  nir.write(tmp_path / "resnet.nir", graph)
  graph = nir.read(tmp_path / "resnet.nir")
  into_lif2 = [a for a, b in graph.edges if b == "b1_lif2"]
  assert sorted(into_lif2) == ["b1_conv2", "b1_shortcut"]  # downsampling block: 1×1 conv shortcut
  assert sorted(a for a, b in graph.edges if b == "b0_lif2") == ["b0_conv2", "stem_lif"]
  np.testing.assert_allclose(graph.nodes["b0_lif2"].v_threshold, 0.5 * 0.5 / amplitude)
  chw = np.transpose(np.asarray(x, np.float64), (0, 3, 1, 2))
  _check(model, graph, x, np.broadcast_to(chw[None], (2, *chw.shape)), 1e-4)
