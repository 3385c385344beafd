"""Run exported NIR graphs in snnTorch and Norse and compare their spikes with ours, step by step.

``pip install 'asgl_jax[interop]'`` (PyTorch, snnTorch, Norse). :func:`run_nir` loads a graph
the way each consumer documents (``snntorch.import_nir.import_from_nir``,
``norse.torch.from_nir``) and steps it through a sequence, recording every neuron node's spikes;
:func:`compare` runs our embedded SNN on the same input and reports, per spiking layer, the
fraction of spikes that agree. What each consumer needs (docs/nir.md):

- **snnTorch** fixes its time step at ``dt = 1e-4`` (:func:`asgl_jax.export.to_nir`'s
  default); a graph exported with another ``dt`` runs as a different network there.
- Graphs with a ``Flatten`` (conv nets, ResNets) flatten the batch dimension too in both
  consumers, so examples are fed one at a time.
- State carries over between calls: snnTorch's neurons keep it inside the modules (reset
  here with ``snntorch.utils.reset`` before each example), Norse returns it.

Example:
  >>> import jax
  >>> from flax import nnx
  >>> from asgl_jax import export, interop, models
  >>> model = models.SpikingMLP(6, [8], num_classes=3, time_steps=4, rngs=nnx.Rngs(0),
  ...                           neuron={"decay": 0.7, "threshold": 0.3})
  >>> x = jax.random.normal(jax.random.key(1), (2, 6)) * 2
  >>> agree = interop.compare(model, export.to_nir(model), x, consumer="norse")
  >>> agree["lif0"]  # the fraction of (step, example, neuron) spikes equal to ours
  1.0
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from typing import Any

import numpy as np

CONSUMERS = ("snntorch", "norse")


def _torch():
  try:
    import torch
  except ImportError as e:
    raise ImportError(
      "asgl_jax.interop needs PyTorch, snnTorch and Norse: pip install 'asgl_jax[interop]'"
    ) from e
  return torch


def load(graph, consumer: str, *, dt: float | None = None):
  """``graph`` loaded by ``consumer`` (``"snntorch"`` or ``"norse"``) as a torch module.

  ``dt`` (Norse only; default: the graph's ``metadata["dt"]``) is the consumer's time step;
  snnTorch always uses 1e-4. The consumers' own console and log output is suppressed.
  """
  if consumer not in CONSUMERS:
    raise ValueError(f"interop: consumer must be one of {CONSUMERS}, got {consumer!r}")
  _torch()
  dt = float(graph.metadata.get("dt", 1e-4) if dt is None else dt)
  if not dt > 0:
    raise ValueError(f"interop: dt must be > 0, got {dt}")
  quiet = logging.getLogger()
  level = quiet.level
  quiet.setLevel(logging.ERROR)  # Norse warns through the root logger
  try:
    with contextlib.redirect_stdout(io.StringIO()):  # snnTorch prints its weight-scaling notes
      if consumer == "snntorch":
        from snntorch.import_nir import import_from_nir

        return import_from_nir(copy.deepcopy(graph))  # it rewrites recurrent graphs in place
      import norse.torch

      return norse.torch.from_nir(graph, dt=dt)
  finally:
    quiet.setLevel(level)


def run_nir(graph, xs, consumer: str, *, dt: float | None = None):
  """Steps ``graph`` in ``consumer`` through ``xs`` ``[T, B, ...]`` (NIR layout: channels
  first), one example at a time from a fresh state.

  Returns:
    ``(outputs [T, B, ...], spikes)``: the ``Output`` node's value at every step, and per
    neuron node (those in ``graph.metadata["spiking_layers"]``) its spikes ``[T, B, ...]``.
  """
  torch = _torch()
  xs = np.asarray(xs, np.float32)
  if xs.ndim < 3:
    raise ValueError(f"interop.run_nir: xs must be [T, B, ...], got shape {xs.shape}")
  net = load(graph, consumer, dt=dt)
  names = list(graph.metadata.get("spiking_layers", {}))
  modules = dict(net.named_modules())
  missing = [n for n in names if n not in modules]
  if missing:
    raise ValueError(f"interop: {consumer} built no module for the neuron nodes {missing}")
  seen: dict[str, Any] = {}

  def hook(name):
    def record(_module, _inputs, out):
      seen[name] = (out[0] if isinstance(out, tuple) else out).detach().numpy().copy()

    return record

  handles = [modules[n].register_forward_hook(hook(n)) for n in names]
  outs, spikes = [], {n: [] for n in names}
  try:
    with torch.no_grad():
      for b in range(xs.shape[1]):
        if consumer == "snntorch":
          import snntorch.utils

          snntorch.utils.reset(net)
        state, out_b, spk_b = None, [], {n: [] for n in names}
        for t in range(xs.shape[0]):
          seen.clear()
          x = torch.from_numpy(np.array(xs[t, b]))  # a writable copy
          y, state = net(x) if consumer == "snntorch" else net(x, state)
          out_b.append(y.detach().numpy().copy())
          for n in names:
            spk_b[n].append(seen[n])
        outs.append(np.stack(out_b))
        for n in names:
          spikes[n].append(np.stack(spk_b[n]))
  finally:
    for h in handles:
      h.remove()
  return np.stack(outs, 1), {n: np.stack(v, 1) for n, v in spikes.items()}


def nir_inputs(x, time_steps: int) -> np.ndarray:
  """Our model input as the graph's per-step input ``[T, B, ...]``: a static batch (images
  ``[B, H, W, C]`` become channels first) is repeated at every step (direct input); a
  sequence ``[T, B, ...]`` of length ``time_steps`` is passed as it is.

  Example:
    >>> import numpy as np
    >>> from asgl_jax import interop
    >>> interop.nir_inputs(np.zeros((2, 5, 5, 3)), 4).shape
    (4, 2, 3, 5, 5)
  """
  x = np.asarray(x, np.float32)
  if x.ndim == 4:  # static images, channels last
    x = np.transpose(x, (0, 3, 1, 2))
  elif x.ndim >= 3 and x.shape[0] == time_steps:
    return x
  return np.broadcast_to(x[None], (time_steps, *x.shape))


def compare(model, graph, x, consumer: str, *, dt: float | None = None) -> dict[str, float]:
  """Per neuron node of ``graph`` (exported from ``model``), the fraction of spikes over every
  (step, example, neuron) that ``consumer`` fires exactly as our embedded SNN does on ``x``
  (our input layout: ``[B, ...]`` static or ``[T, B, ...]``); ``"output"`` is the largest
  absolute difference of the readout at any step (``inf`` if the consumer returns another
  node's output)."""
  import jax.numpy as jnp

  from asgl_jax import analysis

  layers, ours_out = analysis.record_layers(model, jnp.asarray(x))
  xs = nir_inputs(x, model.time_steps)
  out, spikes = run_nir(graph, xs, consumer, dt=dt)
  result = {}
  for node, path in graph.metadata["spiking_layers"].items():
    ours = np.asarray(layers[path]["spikes"], np.float32)
    if ours.ndim == 5:  # [T, B, H, W, C] → channels first
      ours = np.transpose(ours, (0, 1, 4, 2, 3))
    theirs = spikes[node].reshape(ours.shape)
    result[node] = float(np.mean(theirs == ours))
  ours_out = np.asarray(ours_out)
  same = out.size == ours_out.size
  result["output"] = float(np.abs(out.reshape(ours_out.shape) - ours_out).max()) if same else np.inf
  return result


__all__ = ["CONSUMERS", "compare", "load", "nir_inputs", "run_nir"]
