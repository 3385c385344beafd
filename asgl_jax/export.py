"""Export embedded SNNs to the Neuromorphic Intermediate Representation (NIR) and back.

NIR (``pip install nir``; tested with nir 1.0.8) describes neurons as
continuous-time ODEs. Our neurons are discrete-time; with a time step ``dt`` the
forward-Euler discretisation of NIR's LIF,

    τ·dv/dt = (v_leak − v) + R·I   →   v[t] = (1 − dt/τ)·v[t−1] + (dt/τ)·R·I[t],

fires exactly when our LIF (paper Eq. 1), ``u[t] = γ·u[t−1] + c[t]``, does, with

    τ = dt / (1 − γ),   R = 1,   v_leak = 0,
    v_threshold = (1 − γ)·ϑ,   v_reset = 0 (hard reset to zero after a spike):

then ``v[t] = γ·v[t−1] + (1 − γ)·c[t]``, i.e. ``v = (1 − γ)·u`` at every step. (``R = τ/dt``
with ``v_threshold = ϑ`` is the same network, but Norse reads every LIF's ``R`` as 1.)

Recurrent LIF with a synaptic current (``synapse_decay`` β > 0) maps to
``CubaLIF`` (``τ_syn = dt/(1 − β)``, ``w_in = τ_syn/dt``, ``R = τ_mem/dt``: the ``R``
snnTorch requires), and the recurrence ``V`` is a ``Linear`` node on an edge from the
neurons back to themselves (read with a one-step delay, as our scan does).

Other mappings: dense → ``Affine`` (``weight = kernelᵀ``), conv → ``Conv2d``
(channels-first ``[out, in, kh, kw]``, NIR's layout), BN folded into the
preceding conv (running statistics), 2×2 average pool → ``SumPool2d`` with ¼ folded into
the next layer (or ``AvgPool2d``, ``pooling="avg"``), flatten →
``Flatten`` (the next dense layer's rows are permuted from our H·W·C order to
NIR's C·H·W order). Inputs are the network's per-step input (for static images:
the image at every step, i.e. direct input); the output node carries the
readout layer's output at every step; the prediction is its mean over time.

What NIR cannot express raises :class:`NIRExportError` instead of producing a
different network: max pooling, C-LIF (its reset subtracts the threshold through
a decaying trace, not a reset of ``v``) and ``γ = 1`` (no finite time constant).
Residual connections are two edges into the block's output neurons (NIR sums
the inputs of a node).

Spikes fire when ``v ≥ v_threshold`` (as in our evaluation mode); some NIR
consumers use ``>``, which differs only when ``v`` lands exactly on the threshold.
The graphs load in snnTorch and Norse with the same spikes (:mod:`asgl_jax.interop`; the
gaps, all in the consumers, are in docs/nir.md).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from flax import nnx

from asgl_jax.models.convnets import SpikingConvNet
from asgl_jax.models.mlp import SpikingCLIFNet, SpikingMLP, SpikingRNN
from asgl_jax.models.resnet import SpikingResNet

NIR_TESTED_VERSION = "1.0.8"


class NIRExportError(ValueError):
  """The model uses something NIR cannot express (or we do not map yet)."""


def _nir():
  try:
    import nir
  except ImportError as e:
    raise ImportError("NIR export needs the nir package: pip install 'asgl_jax[nir]'") from e
  return nir


def _np(x) -> np.ndarray:
  return np.asarray(x[...] if isinstance(x, nnx.Variable) else x, np.float32)


def _lif_node(layer, shape, dt: float, input_scale: float = 1.0):
  """NIR LIF (or CubaLIF for a recurrent layer with a synaptic current) for our LIF layer, whose
  NIR input is ``input_scale`` times ours (its threshold scales with it)."""
  nir = _nir()
  gamma = np.broadcast_to(np.asarray(layer.decay, np.float32), shape)
  if np.any(gamma >= 1.0):
    raise NIRExportError("decay γ = 1 (no leak) has no finite NIR time constant; use γ < 1")
  tau = dt / (1.0 - gamma)
  ones = np.ones(shape, np.float32)
  thr = np.float32(layer.threshold * input_scale) * ones
  beta = float(getattr(layer, "synapse_decay", 0.0) or 0.0)
  if beta:  # CubaLIF keeps r = τ_mem/dt: the value snnTorch requires, and Norse applies it
    tau_syn = dt / (1.0 - beta) * ones
    return nir.CubaLIF(
      tau_syn=tau_syn,
      tau_mem=tau,
      r=tau / dt,
      v_leak=0 * ones,
      v_threshold=thr,
      v_reset=0 * ones,
      w_in=tau_syn / dt,
    )
  # r = 1 (Norse ignores r): NIR's v is then (1 − γ)·u, so the threshold is scaled with it.
  return nir.LIF(tau=tau, r=ones, v_leak=0 * ones, v_threshold=thr * (1 - gamma), v_reset=0 * ones)


def _affine(dense: nnx.Linear, row_perm=None, input_scale: float = 1.0):
  nir = _nir()
  w = _np(dense.kernel).T * input_scale  # [out, in]
  if row_perm is not None:
    w = w[:, row_perm]
  b = _np(dense.bias) if dense.bias is not None else np.zeros(w.shape[0], np.float32)
  return nir.Affine(weight=w, bias=b)


def _fold_conv_bn(conv_bn, hw, input_scale: float = 1.0, output_scale: float = 1.0):
  """Conv (no bias) + BN (running statistics) → one NIR Conv2d with bias; ``input_scale``
  (the amplitude of the spikes it receives) is folded into the kernel, ``output_scale`` into
  the whole node."""
  nir = _nir()
  conv, tbn = conv_bn.conv, conv_bn.bn
  bn = tbn.bn
  w = _np(conv.kernel) * input_scale  # [kh, kw, in, out]
  mean, var = _np(bn.mean), _np(bn.var)
  inv = 1.0 / np.sqrt(var + bn.epsilon)
  if tbn.kind == "bn":
    scale, bias = _np(bn.scale), _np(bn.bias)
  else:
    scale, bias = _np(tbn.scale) * tbn.td_factor, _np(tbn.bias)
  g = scale * inv
  w = np.transpose(w * g, (3, 2, 0, 1)) * output_scale  # [out, in, kh, kw]
  b = (bias - mean * g) * output_scale
  k = w.shape[-1]
  stride = tuple(conv.strides) if isinstance(conv.strides, tuple | list) else (conv.strides,) * 2
  pad = k // 2
  if tuple(map(tuple, conv.padding)) != ((pad, pad),) * 2 or k % 2 == 0 or stride[0] != stride[1]:
    raise NIRExportError(
      f"only odd k×k convs with padding k//2 are mapped, got {conv.padding}, k={k}"
    )
  node = nir.Conv2d(
    input_shape=hw, weight=w, stride=stride[0], padding=pad, dilation=1, groups=1, bias=b
  )
  out_hw = tuple((n + 2 * pad - k) // stride[0] + 1 for n in hw)
  return node, out_hw


def to_nir(
  model: nnx.Module,
  *,
  dt: float = 1e-4,
  input_shape: tuple[int, ...] | None = None,
  pooling: str = "sum",
):
  """The embedded SNN of ``model`` as a ``nir.NIRGraph`` (see the module docstring for the mapping).

  Args:
    model: a :class:`SpikingMLP`, :class:`SpikingConvNet` (CifarNet, VGGSNN,
      VGG-13, the MNIST CNN), :class:`SpikingResNet` (ResNet-18/19) or
      :class:`SpikingRNN` with trained parameters
      (e.g. ``asgl_jax.train.merge_model(graphdef, state.params, state.batch_stats)``).
    dt: the time step the discrete model stands for (NIR time constants scale with it). The
      default, 1e-4, is the step snnTorch assumes when it imports a graph.
    pooling: ``"sum"`` (default): average pools become ``SumPool2d`` nodes with the
      ``1/(k·k)`` folded into the next layer's weights (snnTorch and Norse both map
      ``SumPool2d``; Norse has no ``AvgPool2d``); ``"avg"``: ``AvgPool2d`` nodes.
    input_shape: per-example input shape without batch, channels last for images
      (``(28, 28, 1)``); needed for conv nets and for static MLP inputs.

  Returns:
    The NIR graph; ``nir.write(path, graph)`` saves it.

  Example:
    >>> from flax import nnx
    >>> from asgl_jax import export, models
    >>> model = models.SpikingMLP(4, [3], num_classes=2, time_steps=2, rngs=nnx.Rngs(0),
    ...                           neuron={"decay": 0.5, "threshold": 1.0})
    >>> lif = export.to_nir(model).nodes["lif0"]
    >>> [round(float(v[0]), 6) for v in (lif.tau, lif.r, lif.v_threshold)]  # dt/(1−γ), 1, (1−γ)ϑ
    [0.0002, 1.0, 0.5]
  """
  if not dt > 0:
    raise ValueError(f"to_nir: dt must be > 0, got {dt!r}")
  if pooling not in ("avg", "sum"):
    raise ValueError(f"to_nir: pooling must be 'avg' or 'sum', got {pooling!r}")
  if isinstance(model, SpikingMLP):
    return _mlp_to_nir(model, dt)
  if isinstance(model, SpikingRNN):
    return _rnn_to_nir(model, dt)
  if isinstance(model, SpikingConvNet):
    if input_shape is None or len(input_shape) != 3:
      raise ValueError("to_nir: conv nets need input_shape=(H, W, C)")
    return _convnet_to_nir(model, dt, tuple(input_shape), pooling)
  if isinstance(model, SpikingCLIFNet):
    raise NIRExportError(
      "C-LIF cannot be expressed in NIR: its reset subtracts the threshold through a trace "
      "that decays with the membrane, while NIR's CubaLIF resets v to a fixed value"
    )
  if isinstance(model, SpikingResNet):
    if input_shape is None or len(input_shape) != 3:
      raise ValueError("to_nir: ResNets need input_shape=(H, W, C)")
    return _resnet_to_nir(model, dt, tuple(input_shape), pooling)
  raise NIRExportError(f"to_nir: no NIR mapping for {type(model).__name__}")


def _chain(nodes: dict[str, Any]) -> list[tuple[str, str]]:
  names = list(nodes)
  return list(itertools.pairwise(names))


def _mlp_to_nir(model: SpikingMLP, dt: float):
  nir = _nir()
  n_in = _np(model.dense[0].kernel).shape[0]
  nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([n_in])})}
  for i, (dense, lif) in enumerate(zip(model.dense, model.lifs)):
    nodes[f"fc{i}"] = _affine(dense)
    nodes[f"lif{i}"] = _lif_node(lif, (_np(dense.kernel).shape[1],), dt)
  nodes["head"] = _affine(model.head)
  nodes["output"] = nir.Output(output_type={"output": np.array([_np(model.head.kernel).shape[1]])})
  layers = {f"lif{i}": f"lifs/{i}" for i in range(len(model.lifs))}
  return nir.NIRGraph(nodes=nodes, edges=_chain(nodes), metadata=_meta(model, dt, layers))


def _rnn_to_nir(model: SpikingRNN, dt: float):
  nir = _nir()
  rec = model.recurrent
  n_in, n = _np(rec.dense.kernel).shape
  n_out = _np(model.head.kernel).shape[1]
  nodes = {
    "input": nir.Input(input_type={"input": np.array([n_in])}),
    "fc": _affine(rec.dense),
    "lif": _lif_node(rec, (n,), dt),
    "recurrent": nir.Linear(weight=_np(rec.recurrent_kernel).T),
    "head": _affine(model.head),
    "output": nir.Output(output_type={"output": np.array([n_out])}),
  }
  edges = [
    ("input", "fc"),
    ("fc", "lif"),
    ("lif", "recurrent"),
    ("recurrent", "lif"),
    ("lif", "head"),
    ("head", "output"),
  ]
  return nir.NIRGraph(nodes=nodes, edges=edges, metadata=_meta(model, dt, {"lif": "recurrent"}))


def _pool(kh: int, kw: int, pooling: str):
  """A ``kh×kw`` average pool as a NIR node, and the factor the next layer's weights take."""
  nir = _nir()
  cls, scale = (nir.AvgPool2d, 1.0) if pooling == "avg" else (nir.SumPool2d, 1.0 / (kh * kw))
  node = cls(kernel_size=np.array([kh, kw]), stride=np.array([kh, kw]), padding=np.array([0, 0]))
  return node, scale


def _convnet_to_nir(model: SpikingConvNet, dt: float, input_shape, pooling: str):
  nir = _nir()
  h, w, c = input_shape
  nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([c, h, w])})}
  conv_i, scale = 0, 1.0
  for j, item in enumerate(model.spec):
    if item == "M":
      raise NIRExportError("max pooling has no NIR node; use average pooling ('A')")
    if item == "A":
      nodes[f"pool{j}"], s = _pool(2, 2, pooling)
      scale *= s
      h, w = h // 2, w // 2
      continue
    nodes[f"conv{conv_i}"], (h, w) = _fold_conv_bn(model.convs[conv_i], (h, w), scale)
    scale = 1.0
    c = item
    nodes[f"lif{conv_i}"] = _lif_node(model.conv_lifs[conv_i], (c, h, w), dt)
    conv_i += 1
  if model.global_pool:
    nodes["gap"], s = _pool(h, w, pooling)
    scale *= s
    h = w = 1
  nodes["flatten"] = nir.Flatten(input_type={"input": np.array([c, h, w])}, start_dim=0, end_dim=-1)
  # Our flatten runs over (H, W, C); NIR's over (C, H, W). Column k of NIR's first dense
  # layer must read feature perm[k] of ours.
  perm = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
  for i, (dense, lif) in enumerate(zip(model.dense, model.dense_lifs)):
    nodes[f"fc{i}"] = _affine(dense, perm if i == 0 else None, scale if i == 0 else 1.0)
    nodes[f"fc_lif{i}"] = _lif_node(lif, (_np(dense.kernel).shape[1],), dt)
  first = not len(model.dense)
  nodes["head"] = _affine(model.head, perm if first else None, scale if first else 1.0)
  nodes["output"] = nir.Output(output_type={"output": np.array([_np(model.head.kernel).shape[1]])})
  layers = {f"lif{i}": f"conv_lifs/{i}" for i in range(conv_i)}
  layers.update({f"fc_lif{i}": f"dense_lifs/{i}" for i in range(len(model.dense))})
  return nir.NIRGraph(nodes=nodes, edges=_chain(nodes), metadata=_meta(model, dt, layers))


def _resnet_to_nir(model: SpikingResNet, dt: float, input_shape, pooling: str):
  """Residual blocks become graph branches: NIR sums the edges entering a node, so the
  block's second conv and its shortcut (identity or folded 1×1 conv) both feed ``lif2``. Spikes
  of amplitude ``a ≠ 1`` are folded into the weights they feed; into ``lif2`` everything enters
  divided by ``a`` (the identity shortcut carries the spikes as they are), so its threshold is
  ``ϑ/a``."""
  nir = _nir()
  a = model.spike_amplitude
  h, w, c = input_shape
  nodes: dict[str, Any] = {"input": nir.Input(input_type={"input": np.array([c, h, w])})}
  nodes["stem"], (h, w) = _fold_conv_bn(model.stem, (h, w))
  c = _np(model.stem.conv.kernel).shape[-1]
  nodes["stem_lif"] = _lif_node(model.stem_lif, (c, h, w), dt)
  edges = [("input", "stem"), ("stem", "stem_lif")]
  prev = "stem_lif"
  for i, block in enumerate(model.blocks):
    hw_in = (h, w)
    nodes[f"b{i}_conv1"], (h, w) = _fold_conv_bn(block.conv1, hw_in, a)
    c = _np(block.conv1.conv.kernel).shape[-1]
    nodes[f"b{i}_lif1"] = _lif_node(block.lif1, (c, h, w), dt)
    nodes[f"b{i}_conv2"], _ = _fold_conv_bn(block.conv2, (h, w), a, 1 / a)
    nodes[f"b{i}_lif2"] = _lif_node(block.lif2, (c, h, w), dt, 1 / a)
    edges += [(prev, f"b{i}_conv1"), (f"b{i}_conv1", f"b{i}_lif1"), (f"b{i}_lif1", f"b{i}_conv2")]
    edges.append((f"b{i}_conv2", f"b{i}_lif2"))
    if block.shortcut is None:
      edges.append((prev, f"b{i}_lif2"))
    else:
      nodes[f"b{i}_shortcut"], _ = _fold_conv_bn(block.shortcut, hw_in, a, 1 / a)
      edges += [(prev, f"b{i}_shortcut"), (f"b{i}_shortcut", f"b{i}_lif2")]
    prev = f"b{i}_lif2"
  nodes["gap"], gap_scale = _pool(h, w, pooling)
  nodes["flatten"] = nir.Flatten(input_type={"input": np.array([c, 1, 1])}, start_dim=0, end_dim=-1)
  edges += [(prev, "gap"), ("gap", "flatten")]
  prev = "flatten"
  for i, (dense, lif) in enumerate(zip(model.head_dense, model.head_lifs)):
    nodes[f"fc{i}"] = _affine(dense, input_scale=a * (gap_scale if i == 0 else 1.0))
    nodes[f"fc_lif{i}"] = _lif_node(lif, (_np(dense.kernel).shape[1],), dt)
    edges += [(prev, f"fc{i}"), (f"fc{i}", f"fc_lif{i}")]
    prev = f"fc_lif{i}"
  nodes["head"] = _affine(model.fc, input_scale=a * (1.0 if len(model.head_dense) else gap_scale))
  nodes["output"] = nir.Output(output_type={"output": np.array([_np(model.fc.kernel).shape[1]])})
  edges += [(prev, "head"), ("head", "output")]
  layers = {"stem_lif": "stem_lif"}
  for i in range(len(model.blocks)):
    layers.update({f"b{i}_lif1": f"blocks/{i}/lif1", f"b{i}_lif2": f"blocks/{i}/lif2"})
  layers.update({f"fc_lif{i}": f"head_lifs/{i}" for i in range(len(model.head_lifs))})
  return nir.NIRGraph(nodes=nodes, edges=edges, metadata=_meta(model, dt, layers))


def _meta(model, dt, layers: dict[str, str]):
  """Graph metadata; ``spiking_layers`` maps each neuron node to our layer's path (the names
  :func:`asgl_jax.analysis.record_layers` uses), so spikes can be compared layer by layer."""
  return {
    "producer": "asgl_jax",
    "dt": float(dt),
    "time_steps": int(model.time_steps),
    "readout": "mean over time",
    "spiking_layers": dict(layers),
  }


# ----------------------------------------------------------------------------- import


def _lif_params(node, dt: float, name: str):
  """(decay γ, threshold ϑ, input gain) of a NIR LIF for our discrete LIF, or an error."""
  nir = _nir()
  if not isinstance(node, nir.LIF):
    raise NIRExportError(
      f"from_nir: node {name!r} is {type(node).__name__}; only LIF neurons are supported"
    )
  tau, r = np.asarray(node.tau, np.float64), np.asarray(node.r, np.float64)
  if np.any(np.asarray(node.v_leak) != 0):
    raise NIRExportError(f"from_nir: {name!r} has v_leak != 0, which our LIF cannot express")
  if node.v_reset is not None and np.any(np.asarray(node.v_reset) != 0):
    raise NIRExportError(f"from_nir: {name!r} resets to v_reset != 0; our LIF resets to 0")
  gamma = 1.0 - dt / tau
  thr = np.asarray(node.v_threshold, np.float64)
  for what, v in (("tau", gamma), ("v_threshold", thr)):
    if np.ptp(v) > 1e-6 * max(1.0, np.abs(v).max()):
      raise NIRExportError(
        f"from_nir: {name!r} has per-neuron {what}; our LIF layers share one value"
      )
  if not 0.0 <= gamma.flat[0] < 1.0:
    raise NIRExportError(f"from_nir: {name!r} needs dt <= tau (got dt={dt}, tau={tau.flat[0]})")
  gain = (r * dt / tau).reshape(-1)  # the Euler input gain
  if np.ptp(gain) <= 1e-6 * np.abs(gain).max():  # uniform: v = gain·u, so ϑ = v_threshold / gain
    return float(gamma.flat[0]), float(thr.flat[0] / gain[0]), np.ones_like(gain)
  return float(gamma.flat[0]), float(thr.flat[0]), gain  # folded into the preceding weights


def from_nir(graph, *, dt: float | None = None, time_steps: int = 1) -> nnx.Module:
  """Builds a :class:`SpikingMLP` from a chain NIR graph ``Input → (Affine → LIF)* → Affine → Output``.

  Any ``R`` is accepted: the LIF's Euler input gain ``R·dt/τ`` divides the threshold when it
  is the same for every neuron of a layer (so a graph of :func:`to_nir` comes back with its
  own weights and threshold), else it is folded into the preceding ``Affine``. ``v_leak``
  must be 0, ``v_reset`` 0, and ``τ`` and ``v_threshold`` the same for every neuron of a
  layer. ``dt`` defaults to the graph's ``metadata["dt"]`` (else 1e-4). The returned model's
  input is a sequence ``[T, B, features]`` (``sequence_input=True``).
  """
  nir = _nir()
  dt = float(graph.metadata.get("dt", 1e-4) if dt is None else dt)
  if not dt > 0:
    raise ValueError(f"from_nir: dt must be > 0, got {dt!r}")
  nodes, edges = graph.nodes, list(graph.edges)
  succ: dict[str, list[str]] = {}
  for a, b in edges:
    succ.setdefault(a, []).append(b)
  inputs = [k for k, v in nodes.items() if isinstance(v, nir.Input)]
  if len(inputs) != 1:
    raise NIRExportError(f"from_nir: need exactly one Input node, got {inputs}")
  order, cur = [], inputs[0]
  while True:
    nxt = succ.get(cur, [])
    if len(nxt) > 1:
      raise NIRExportError(f"from_nir: node {cur!r} branches; only chains are supported")
    if not nxt:
      break
    cur = nxt[0]
    if cur in order:
      raise NIRExportError("from_nir: recurrent graphs are not imported yet")
    order.append(cur)
  kinds = [type(nodes[k]).__name__ for k in order]
  body = order[:-1] if kinds and kinds[-1] == "Output" else order
  if (
    len(body) < 1
    or len(body) % 2 != 1
    or any(not isinstance(nodes[k], nir.Affine) for k in body[::2])
  ):
    raise NIRExportError(f"from_nir: expected Affine, LIF, ..., Affine, got {kinds}")
  affines = [nodes[k] for k in body[::2]]
  lifs = [(k, nodes[k]) for k in body[1::2]]
  params = [_lif_params(node, dt, k) for k, node in lifs]
  gammas = {p[0] for p in params}
  thresholds = {p[1] for p in params}
  if len(gammas) > 1 or len(thresholds) > 1:
    raise NIRExportError("from_nir: layers with different tau or v_threshold are not supported yet")
  from asgl_jax.models.common import NeuronConfig

  neuron = NeuronConfig(
    decay=gammas.pop() if gammas else 0.5, threshold=thresholds.pop() if thresholds else 1.0
  )
  sizes = [np.asarray(a.weight).shape for a in affines]
  model = SpikingMLP(
    sizes[0][1],
    [s[0] for s in sizes[:-1]],
    num_classes=sizes[-1][0],
    time_steps=time_steps,
    rngs=nnx.Rngs(0),
    neuron=neuron,
    sequence_input=True,
  )
  layers = [*model.dense, model.head]
  for i, (layer, a) in enumerate(zip(layers, affines)):
    w = np.asarray(a.weight, np.float32)
    b = np.asarray(a.bias, np.float32) * np.ones(w.shape[0], np.float32)
    if i < len(params):
      gain = np.broadcast_to(params[i][2], (w.shape[0],)).astype(np.float32)
      w, b = w * gain[:, None], b * gain
    layer.kernel[...] = w.T
    layer.bias[...] = b
  return model


__all__ = ["NIR_TESTED_VERSION", "NIRExportError", "from_nir", "to_nir"]
