"""Analysis of trained ASGL networks: spikes, smoothing error, similarity, energy.

- Firing rate per spiking layer (paper Fig. 4).
- Proportion of dead neurons (no spike on the data given) and smoothing error
  ``1 − cos(H_α(u), Θ(u))`` per layer (Fig. 6).
- Cosine similarity between each layer's output in the noisy network (masks at
  probability ``p``) and in the embedded SNN, with shared weights (Fig. 3e, Fig. 7).
- Synaptic operations and energy (App. B.2, Eq. 29–30): accumulates ``Σ f·s``
  (spikes times fan-out) for the SNN, multiply-accumulates ``Σ f`` for the same
  architecture as an ANN; 0.9 pJ per AC, 4.6 pJ per MAC; the first synaptic
  layer of a network fed direct (analog) input is counted as MAC.

Everything works on any model of the zoo: spiking layers are found by the
values they record (``model.set_attributes(record="full")``), synaptic layers
by their type (``nnx.Conv``, ``nnx.Linear``).
"""

from __future__ import annotations

import contextlib
import functools
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from asgl_jax import nn
from asgl_jax import surrogate as surrogate_lib

Array = jax.Array

E_AC_PJ = 0.9
E_MAC_PJ = 4.6


def _flat(tree) -> dict[str, Any]:
  out = {}
  for path, v in jax.tree_util.tree_flatten_with_path(tree)[0]:
    out["/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)] = v
  return out


def record_layers(model: nnx.Module, x: Array, *, key=None, p: float = 1.0, train: bool = False):
  """Runs ``model`` on ``x`` and returns, per spiking layer, its ``spikes`` and
  ``potential`` (``u − ϑ``, both ``[T, B, ...]``) and ``alpha``, plus the output.

  ``train=True`` records the noisy network (masks at probability ``p``, BN with
  running statistics); ``train=False`` the embedded SNN. The forward pass is
  compiled once per model structure (``jax.jit`` over the split model), so
  calling this every epoch costs one compilation, not one per call.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> layers, out = analysis.record_layers(model, x)
    >>> out.shape, sorted(layers), layers["lifs/0"]["spikes"].shape   # [T, B, ...]
    ((2, 8, 3), ['lifs/0'], (2, 8, 5))
  """
  graphdef, state = nnx.split(model)
  flat = _recorded(graphdef, state, x, key, jnp.float32(p), train)
  layers: dict[str, dict[str, Array]] = {}
  for k, v in flat.items():
    if k == "_output":
      continue
    # keys look like "conv_lifs/0/spikes/0"
    parts = k.split("/")
    i = max(
      j for j, part in enumerate(parts) if part in ("spikes", "potential", "alpha", "firing_rate")
    )
    layers.setdefault("/".join(parts[:i]), {})[parts[i]] = v
  return layers, flat["_output"]


@functools.partial(jax.jit, static_argnums=(0, 5))
def _recorded(graphdef, state, x, key, p, train: bool):
  model = nnx.merge(graphdef, state)
  model.set_attributes(record="full", raise_if_not_found=False)
  if train:
    model.set_attributes(use_running_average=True, raise_if_not_found=False)
  out, inter = nnx.capture(model, nnx.Intermediate)(x, key=key, p=p, train=train)
  return {**_flat(nnx.to_pure_dict(inter)), "_output": out}


def _surrogates(model) -> dict[str, str]:
  return {name: m.surrogate for name, m in _named(model) if isinstance(m, nn.LIF | nn.RecurrentLIF)}


def _cos(a, b) -> float:
  a = np.asarray(a, np.float64).reshape(-1)
  b = np.asarray(b, np.float64).reshape(-1)
  na, nb = np.linalg.norm(a), np.linalg.norm(b)
  if na == 0 and nb == 0:
    return 1.0
  if na == 0 or nb == 0:
    return 0.0
  return float(a @ b / (na * nb))


def spike_statistics(model: nnx.Module, x: Array) -> dict[str, dict[str, float]]:
  """Per spiking layer of the embedded SNN on inputs ``x``: ``firing_rate`` (mean
  spikes per neuron and step), ``dead_fraction`` (neurons that never fire on ``x``;
  a neuron is a position in the layer's feature map) and ``smoothing_error``
  ``1 − cos(H_α(u), Θ(u))`` over all neurons, steps and examples (paper Fig. 6).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> stats = analysis.spike_statistics(model, x)
    >>> st = next(iter(stats.values()))
    >>> 0 <= st["firing_rate"] <= 1 and 0 <= st["dead_fraction"] <= 1 and 0 <= st["smoothing_error"] <= 1
    True
  """
  layers, _ = record_layers(model, x, train=False)
  surs = _surrogates(model)
  out = {}
  for name, rec in layers.items():
    s = np.asarray(rec["spikes"], np.float64)
    u = jnp.asarray(rec["potential"], jnp.float32)
    h = surrogate_lib.get_surrogate(surs.get(name, "rect")).forward(u, jnp.asarray(rec["alpha"]))
    out[name] = {
      "firing_rate": float(s.mean()),
      "dead_fraction": float(np.mean(s.reshape(-1, *s.shape[2:]).sum(axis=0) == 0)),
      "smoothing_error": 1.0 - _cos(h, (u >= 0).astype(jnp.float32)),
      "width": float(np.mean(np.asarray(rec["alpha"]))),
    }
  return out


def noisy_snn_similarity(model: nnx.Module, x: Array, *, key, p: float) -> dict[str, float]:
  """Cosine similarity of each spiking layer's output in the noisy network (masks at
  probability ``p``) and in the embedded SNN, same weights and inputs (Fig. 3e, Fig. 7).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> sim = analysis.noisy_snn_similarity(model, x, key=jax.random.key(1), p=1.0)
    >>> all(abs(v - 1.0) < 1e-6 for v in sim.values())    # p = 1: the noisy network is the SNN
    True
  """
  noisy, _ = record_layers(model, x, key=key, p=p, train=True)
  snn, _ = record_layers(model, x, train=False)
  return {k: _cos(noisy[k]["spikes"], snn[k]["spikes"]) for k in snn}


def per_example_cosine(a, b) -> np.ndarray:
  """Cosine of ``a`` and ``b`` (``[T, B, ...]``) per example ``b``: ``[B]`` (1 where both are
  all zero, 0 where only one is), the per-sample similarity of paper Fig. 3e and Fig. 6b.

  Example:
    >>> import numpy as np
    >>> from asgl_jax import analysis
    >>> a = np.array([[[1.0, 0.0], [0.0, 0.0]]])              # [T = 1, B = 2, N = 2]
    >>> b = np.array([[[1.0, 1.0], [0.0, 0.0]]])
    >>> analysis.per_example_cosine(a, b).round(4).tolist()
    [0.7071, 1.0]
  """
  a = np.moveaxis(np.asarray(a, np.float64), 1, 0).reshape(np.shape(a)[1], -1)
  b = np.moveaxis(np.asarray(b, np.float64), 1, 0).reshape(np.shape(b)[1], -1)
  na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
  dot = np.sum(a * b, axis=1)
  with np.errstate(invalid="ignore", divide="ignore"):
    cos = dot / (na * nb)
  return np.where((na == 0) & (nb == 0), 1.0, np.where((na == 0) | (nb == 0), 0.0, cos))


def paper_metrics(model: nnx.Module, x: Array, *, key, p: float) -> dict[str, Any]:
  """The paper's layer metrics on examples ``x``, each computed per example as the paper does.

  - ``similarity`` (Fig. 3e, Fig. 7): per example, the cosine of each spiking layer's output in
    the noisy network (masks at ``p``) and in the embedded SNN, averaged over layers: ``S``;
    reported as its ``mean`` and ``std`` over the examples (and per layer, ``per_layer``).
  - ``dead_fraction`` (Fig. 6a): per layer, the share of neurons that do not fire at any step
    for an example, averaged over examples (each example a trial).
  - ``smoothing_error`` (Fig. 6b): per layer, ``1 − cos(a, s)`` of the analog network's
    activations ``a = H_α(u)`` (p = 0: every layer analog, fed by analog layers) and the
    embedded SNN's spikes ``s``, per example, averaged over examples.

  :func:`spike_statistics` and :func:`noisy_snn_similarity` keep the pooled variants (one cosine
  over all examples; a neuron dead if silent on every example).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5, 5), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> m = analysis.paper_metrics(model, x, key=jax.random.key(1), p=1.0)
    >>> round(m["similarity"]["mean"], 6), round(m["similarity"]["std"], 6)  # p = 1: the SNN
    (1.0, 0.0)
    >>> sorted(m["dead_fraction"]) == sorted(m["smoothing_error"]) == ["lifs/0", "lifs/1"]
    True
  """
  snn, _ = record_layers(model, x, train=False)
  noisy, _ = record_layers(model, x, key=key, p=p, train=True)
  analog, _ = record_layers(model, x, key=key, p=0.0, train=True)
  per_layer = {k: per_example_cosine(noisy[k]["spikes"], snn[k]["spikes"]) for k in snn}
  s = np.mean(np.stack(list(per_layer.values())), axis=0) if per_layer else np.zeros(0)
  dead, err = {}, {}
  for k, rec in snn.items():
    spikes = np.asarray(rec["spikes"], np.float64)  # [T, B, ...]
    fired = spikes.sum(axis=0).reshape(spikes.shape[1], -1) > 0  # [B, neurons]
    dead[k] = float(np.mean(1.0 - fired.mean(axis=1)))
    err[k] = float(np.mean(1.0 - per_example_cosine(analog[k]["spikes"], spikes)))
  return {
    "similarity": {
      "mean": float(s.mean()) if s.size else float("nan"),
      "std": float(s.std()) if s.size else float("nan"),
      "per_layer": {k: float(v.mean()) for k, v in per_layer.items()},
    },
    "dead_fraction": dead,
    "smoothing_error": err,
  }


# ----------------------------------------------------------------------------- energy


def _ones_op(module, x):
  """The synaptic layer with all weights 1 and no bias: its output summed counts ``Σ_i f_i x_i``."""
  if isinstance(module, nnx.Linear):
    return jnp.sum(x) * module.out_features
  k = module.kernel[...]
  strides = (
    module.strides if isinstance(module.strides, tuple | list) else (module.strides,) * (k.ndim - 2)
  )
  dil = module.kernel_dilation
  dil = dil if isinstance(dil, tuple | list) else (dil,) * (k.ndim - 2)
  y = jax.lax.conv_general_dilated(
    x.astype(jnp.float32),
    jnp.ones(k.shape, jnp.float32),
    window_strides=tuple(strides),
    padding=module.padding,
    rhs_dilation=tuple(dil),
    dimension_numbers=("NHWC", "HWIO", "NHWC"),
    feature_group_count=module.feature_group_count,
  )
  return jnp.sum(y)


@contextlib.contextmanager
def _counting(records: list):
  """Records ``(layer, input)`` of every conv / dense call, including dense layers that
  :func:`asgl_jax.nn.apply_folded` computes on bool / integer spikes without calling them."""
  originals = {cls: cls.__call__ for cls in (nnx.Conv, nnx.Linear)}
  spike_linear = nn.spike_linear

  def counted_spike_linear(layer, s):
    records.append((layer, jnp.asarray(s).astype(jnp.float32)))
    return spike_linear(layer, s)

  def wrap(cls):
    orig = originals[cls]

    def call(self, x, *args, **kwargs):
      records.append((self, x))
      return orig(self, x, *args, **kwargs)

    return call

  try:
    for cls in originals:
      cls.__call__ = wrap(cls)
    nn.spike_linear = counted_spike_linear
    yield
  finally:
    for cls, orig in originals.items():
      cls.__call__ = orig
    nn.spike_linear = spike_linear


def synaptic_operations(
  model: nnx.Module, x: Array, *, direct_input: bool | None = None
) -> dict[str, Any]:
  """Synaptic operations and energy of the embedded SNN on ``x`` vs the same network as an ANN.

  For each synaptic layer (conv, dense, and the recurrent weights ``V`` of a
  :class:`~asgl_jax.nn.RecurrentLIF`) with input ``s``, the SNN performs
  ``Σ_i f_i·s_i`` accumulates over all time steps (Eq. 29; ``f_i`` = fan-out of
  input ``i``, exact at the borders), the ANN ``Σ_i f_i`` multiply-accumulates
  (Eq. 30): once for a static input, once per step for a sequence input. With
  ``direct_input`` the first synaptic layer sees analog input and is counted as
  MAC in the SNN too (as many times as the network computes it: once for a
  static image, whose first layer is shared by all steps). By default (``None``) the input's
  dtype decides: floating point is analog (direct encoding), bool or integer is spikes (an
  event dataset's layout), whose first layer is counted as AC like every other.

  Returns:
    ``{"layers": [...], "snn_energy_pj", "ann_energy_pj", "energy_ratio", "sop", "mac"}``
    per example (averaged over the batch).

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> ops = analysis.synaptic_operations(model, x)
    >>> sorted(ops)
    ['ann_energy_pj', 'energy_ratio', 'layers', 'mac', 'snn_energy_pj', 'sop']
    >>> bool(abs(ops["energy_ratio"] - ops["snn_energy_pj"] / ops["ann_energy_pj"]) < 1e-9)
    True
  """
  x = jnp.asarray(x)
  if direct_input is None:
    direct_input = bool(jnp.issubdtype(x.dtype, jnp.floating))
  records: list = []
  with _counting(records):
    out = model(x, train=False)  # [T, B, classes]
  steps, batch = out.shape[:2]
  rows_of = lambda m, a: a.size // (a.shape[-1] if isinstance(m, nnx.Linear) else a[0].size)  # noqa: E731
  # An ANN sees a sequence input step by step, a static input once.
  sequence = bool(records) and rows_of(*records[0]) > batch
  ann_steps = steps if sequence else 1
  entries = []
  for i, (module, inp) in enumerate(records):
    rows = rows_of(module, inp)
    one_row = inp.reshape(-1, *inp.shape[-1:])[:1] if isinstance(module, nnx.Linear) else inp[:1]
    full = float(_ones_op(module, jnp.ones_like(one_row)))  # one example at one step
    first = i == 0 and direct_input
    # SNN: analog input → every synapse multiplies-accumulates; spikes → one accumulate per
    # (spike, outgoing synapse). Per example, summed over the steps computed.
    ops = full * rows / batch if first else float(_ones_op(module, inp)) / batch
    entries.append(
      (
        f"{i}:{type(module).__name__}",
        ops,
        "MAC" if first else "AC",
        rows // batch,
        full * ann_steps,
      )
    )
  recurrent = [(n, m) for n, m in _named(model) if isinstance(m, nn.RecurrentLIF)]
  if recurrent:
    layers_rec, _ = record_layers(model, x, train=False)
    for name, m in recurrent:
      n = m.recurrent_kernel[...].shape[0]
      s = np.asarray(layers_rec[name]["spikes"], np.float64)  # [T, B, N]: s[t] feeds step t + 1
      entries.append(
        (
          f"{name}:recurrent",
          float(s[:-1].sum()) * n / batch,
          "AC",
          steps,
          float(n * n * ann_steps),
        )
      )
  layers = []
  for name, ops, kind, computed, ann in entries:
    layers.append(
      {
        "layer": name,
        "snn_ops": ops,
        "snn_op_kind": kind,
        "steps_computed": computed,
        "ann_macs": ann,
        "snn_energy_pj": ops * (E_MAC_PJ if kind == "MAC" else E_AC_PJ),
        "ann_energy_pj": ann * E_MAC_PJ,
      }
    )
  return _totals(layers)


def _totals(layers: list[dict]) -> dict[str, Any]:
  """The per-layer rows with their sums: SOPs, MACs, energies and the SNN/ANN ratio."""
  snn_e = sum(r["snn_energy_pj"] for r in layers)
  ann_e = sum(r["ann_energy_pj"] for r in layers)
  return {
    "layers": layers,
    "sop": sum(r["snn_ops"] for r in layers if r["snn_op_kind"] == "AC"),
    "mac": sum(r["ann_macs"] for r in layers),
    "snn_energy_pj": snn_e,
    "ann_energy_pj": ann_e,
    "energy_ratio": snn_e / ann_e if ann_e else float("nan"),
  }


def mean_synaptic_operations(model: nnx.Module, batches, **kw) -> dict[str, Any]:
  """:func:`synaptic_operations` over several batches (e.g. the paper's 1,024 examples in
  chunks that fit in memory): every per-example figure averaged, weighted by batch size.

  Example:
    >>> import jax
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> whole = analysis.synaptic_operations(model, x)
    >>> parts = analysis.mean_synaptic_operations(model, [x[:3], x[3:]])
    >>> bool(abs(parts["snn_energy_pj"] - whole["snn_energy_pj"]) < 1e-6 * whole["snn_energy_pj"])
    True
  """
  total, acc = 0, None
  for x in batches:
    n = int(np.shape(x)[0])
    r = synaptic_operations(model, x, **kw)
    if acc is None:
      acc = {"layers": [dict(row) for row in r["layers"]], "n": 0}
      for row in acc["layers"]:
        row["snn_ops"] = row["snn_energy_pj"] = row["ann_energy_pj"] = 0.0
    for row, new in zip(acc["layers"], r["layers"]):
      for k in ("snn_ops", "snn_energy_pj", "ann_energy_pj"):
        row[k] += new[k] * n
    total += n
  if not total:
    raise ValueError("mean_synaptic_operations: no examples")
  layers = acc["layers"]
  for row in layers:
    for k in ("snn_ops", "snn_energy_pj", "ann_energy_pj"):
      row[k] /= total
  return {**_totals(layers), "examples": total}


def _named(model):
  for path, m in nnx.iter_graph(model):
    if isinstance(m, nnx.Module):
      yield "/".join(map(str, path)), m


# ----------------------------------------------------------------------------- report


def analyze(
  model: nnx.Module, x: Array, *, key, p: float, direct_input: bool | None = None
) -> dict[str, Any]:
  """Everything above on one batch ``x``: per-layer statistics, similarity and energy.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> res = analysis.analyze(model, x, key=jax.random.key(1), p=0.8)
    >>> sorted(res)
    ['energy', 'layers', 'paper']
  """
  stats = spike_statistics(model, x)
  sim = noisy_snn_similarity(model, x, key=key, p=p)
  for k, v in sim.items():
    stats.setdefault(k, {})["noisy_snn_cosine"] = v
  return {
    "layers": stats,
    "paper": paper_metrics(model, x, key=key, p=p),
    "energy": synaptic_operations(model, x, direct_input=direct_input),
  }


def plot_analysis(result: dict[str, Any], path: str) -> None:
  """Bar charts per spiking layer (firing rate, dead fraction, smoothing error,
  noisy-vs-SNN similarity) and the energy per synaptic layer, to a PNG.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> import os, tempfile
    >>> res = analysis.analyze(model, x, key=jax.random.key(1), p=0.8)
    >>> path = os.path.join(tempfile.mkdtemp(), "analysis.png")
    >>> analysis.plot_analysis(res, path)
    >>> os.path.getsize(path) > 0
    True
  """
  from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

  layers = result["layers"]
  names = list(layers)
  e = result["energy"]
  lab = [r["layer"] for r in e["layers"]]
  rows = max(len(names), len(lab), 1)
  fig = Figure(figsize=(18, max(3.5, 1.6 + 0.32 * rows)))
  grid = fig.add_gridspec(1, 6, width_ratios=[1, 1, 1, 1, 0.2, 1.4])
  axes = [fig.add_subplot(grid[0, 0])]
  axes += [fig.add_subplot(grid[0, i], sharey=axes[0]) for i in (1, 2, 3)]
  ys = np.arange(len(names))
  panels = (
    ("firing_rate", "firing rate (Fig. 4)", "spikes per neuron and step"),
    ("dead_fraction", "dead neurons", "fraction silent on every example"),
    ("smoothing_error", "smoothing error", "1 − cos(H_α(u), Θ(u))"),
    ("noisy_snn_cosine", "noisy vs SNN", "cos(noisy output, SNN output)"),
  )
  for i, (ax, (key, title, xlabel)) in enumerate(zip(axes, panels)):
    ax.barh(ys, [layers[n].get(key, np.nan) for n in names], color=f"C{i}")
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.tick_params(labelsize=9)
    ax.grid(axis="x", alpha=0.3)
    if i:
      ax.tick_params(labelleft=False)
  axes[0].set_yticks(ys, names)
  axes[0].set_ylabel("spiking layer", fontsize=10)
  axes[0].invert_yaxis()  # the first layer on top
  ax = fig.add_subplot(grid[0, 5])
  ye = np.arange(len(lab))
  ax.barh(ye - 0.2, [r["snn_energy_pj"] for r in e["layers"]], 0.4, label="SNN (AC)")
  ax.barh(ye + 0.2, [r["ann_energy_pj"] for r in e["layers"]], 0.4, label="ANN (MAC)")
  ax.set_xscale("log")
  ax.set_yticks(ye, lab)
  ax.invert_yaxis()
  ax.tick_params(labelsize=9)
  ax.set_ylabel("synaptic layer", fontsize=10)
  ax.set_xlabel("energy per example (pJ)", fontsize=9)
  ax.set_title(f"energy (App. B.2): SNN/ANN = {100 * e['energy_ratio']:.2f} %", fontsize=11)
  ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
  fig.tight_layout()
  fig.savefig(path, dpi=110)


def write_analysis(result: dict[str, Any], path: str) -> None:
  """Writes :func:`analyze`'s result to ``path`` as JSON.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from flax import nnx
    >>> from asgl_jax import analysis, models
    >>> model = models.get_model("mlp", num_classes=3, time_steps=2, in_features=4,
    ...                          hidden=(5,), rngs=nnx.Rngs(0))
    >>> x = jax.random.normal(jax.random.key(0), (8, 4)) * 3
    >>> import json, os, tempfile
    >>> res = analysis.analyze(model, x, key=jax.random.key(1), p=0.8)
    >>> path = os.path.join(tempfile.mkdtemp(), "analysis.json")
    >>> analysis.write_analysis(res, path)
    >>> sorted(json.load(open(path))) == sorted(res)
    True
  """
  with open(path, "w") as f:
    json.dump(result, f, indent=2)


# ----------------------------------------------------------------------------- image quality


def psnr(x: Array, y: Array, *, data_range: float = 1.0) -> Array:
  """Peak signal-to-noise ratio per image, ``10·log10(R² / MSE)`` (``[B, ...]`` → ``[B]``).

  Example:
    >>> import jax.numpy as jnp
    >>> from asgl_jax import analysis
    >>> x = jnp.zeros((1, 4, 4))
    >>> analysis.psnr(x, x + 0.1)                      # 10·log10(1 / 0.01) = 20 dB
    Array([20.], dtype=float32)
  """
  mse = jnp.mean(
    (jnp.asarray(x, jnp.float32) - jnp.asarray(y, jnp.float32)) ** 2, axis=tuple(range(1, x.ndim))
  )
  return 10.0 * jnp.log10(data_range**2 / jnp.maximum(mse, 1e-12))


def _gaussian_window(size: int, sigma: float) -> Array:
  g = jnp.exp(-((jnp.arange(size) - (size - 1) / 2) ** 2) / (2 * sigma**2))
  g = g / g.sum()
  return jnp.outer(g, g)


def ssim(
  x: Array, y: Array, *, data_range: float = 1.0, window: int = 11, sigma: float = 1.5
) -> Array:
  """Structural similarity (Wang et al., 2004) per image for ``[B, H, W]`` (or ``[B, H, W, 1]``):
  Gaussian window ``window × window`` with ``sigma``, ``C1 = (0.01·R)²``, ``C2 = (0.03·R)²``,
  averaged over the valid (unpadded) positions.

  Example:
    >>> import jax, jax.numpy as jnp
    >>> from asgl_jax import analysis
    >>> x = jax.random.uniform(jax.random.key(0), (2, 16, 16))
    >>> analysis.ssim(x, x)                            # identical images: 1
    Array([1., 1.], dtype=float32)
  """
  x = jnp.asarray(x, jnp.float32).reshape(x.shape[0], x.shape[1], x.shape[2])
  y = jnp.asarray(y, jnp.float32).reshape(x.shape)
  w = _gaussian_window(window, sigma)[:, :, None, None]

  def filt(a):
    return jax.lax.conv_general_dilated(
      a[..., None], w, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )[..., 0]

  c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
  mx, my = filt(x), filt(y)
  vx = filt(x * x) - mx * mx
  vy = filt(y * y) - my * my
  cxy = filt(x * y) - mx * my
  s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
  return jnp.mean(s, axis=(1, 2))
