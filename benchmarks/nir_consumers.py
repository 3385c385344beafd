"""How far snnTorch and Norse reproduce our exported NIR graphs: the table in docs/nir.md.

  pip install -e '.[interop]' && python benchmarks/nir_consumers.py

For every model kind and export setting, each consumer loads the graph (in memory, and after a
``nir.write`` / ``nir.read`` round trip) and steps it through the same input as our embedded
SNN; a cell is the fraction of (step, example, neuron) spikes equal to ours over all neuron
nodes (worst layer), and whether the readout matches to 1e-4 at every step. Models have random
weights and random BN statistics, inputs are scaled so that every layer fires.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import tempfile

import jax
import numpy as np
from flax import nnx

from asgl_jax import export, interop, models


def _randomize_bn(model, seed: int = 0) -> None:
  rng = np.random.default_rng(seed)
  for path, var in nnx.iter_graph(model):
    if isinstance(var, nnx.BatchStat):
      shape = var[...].shape
      var[...] = rng.uniform(0.5, 1.5, shape) if path[-1] == "var" else rng.normal(0, 0.3, shape)


def cases():
  """(label, model, our input, to_nir keyword arguments) for every row of the table."""
  key = jax.random.key(1)
  mlp = models.SpikingMLP(
    20, [16, 12], num_classes=5, time_steps=6, rngs=nnx.Rngs(0), neuron={"decay": 0.7}
  )
  x_mlp = np.asarray(jax.random.normal(key, (4, 20))) * 2.0
  yield "MLP", mlp, x_mlp, {}
  yield "MLP, exported with dt = 1e-3", mlp, x_mlp, {"dt": 1e-3}
  cnn = models.get_model("cnn_tiny", num_classes=4, time_steps=3, rngs=nnx.Rngs(2))
  _randomize_bn(cnn)
  x_img = np.asarray(jax.random.normal(key, (2, 28, 28, 1))) * 2.0
  yield "conv net, 2×2 pools (SumPool2d, the default)", cnn, x_img, {"input_shape": (28, 28, 1)}
  yield (
    "conv net, 2×2 pools as AvgPool2d",
    cnn,
    x_img,
    {"input_shape": (28, 28, 1), "pooling": "avg"},
  )
  x_rgb = np.asarray(jax.random.normal(key, (2, 16, 16, 3))) * 2.0
  for amp in (1.0, 0.5):
    res = models.SpikingResNet(
      stem=8,
      stages=[(8, 2)],
      num_classes=4,
      time_steps=2,
      rngs=nnx.Rngs(3),
      neuron={"threshold": 0.5},
      spike_amplitude=amp,
    )
    _randomize_bn(res, 1)
    label = "ResNet, identity shortcuts" + (f", spikes of amplitude {amp}" if amp != 1 else "")
    yield label, res, x_rgb, {"input_shape": (16, 16, 3)}
  res = models.get_model("resnet_tiny", num_classes=4, time_steps=2, rngs=nnx.Rngs(2))
  _randomize_bn(res, 2)
  yield "ResNet with a downsampling (1×1 conv) shortcut", res, x_rgb, {"input_shape": (16, 16, 3)}
  x_seq = np.asarray(jax.random.bernoulli(key, 0.3, (10, 3, 12)), np.float32) * 1.5
  for beta in (0.0, 0.5):
    rsnn = models.SpikingRNN(
      12, 10, num_classes=4, time_steps=10, rngs=nnx.Rngs(4), synapse_decay=beta
    )
    label = "recurrent SNN, " + (f"CubaLIF (β_syn = {beta})" if beta else "LIF")
    yield label, rsnn, x_seq, {}


def cell(model, graph, x, consumer: str) -> str:
  try:
    agree = interop.compare(model, graph, x, consumer)
  except Exception as e:  # a consumer that cannot load or run the graph
    return f"fails ({type(e).__name__})"
  out = agree.pop("output")
  worst = min(agree.values())
  return f"{100 * worst:.1f} %" + ("" if out < 1e-4 else f", readout off by {out:.2g}")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.parse_args()
  versions = {m: importlib.metadata.version(m) for m in ("snntorch", "norse", "nir", "nirtorch")}
  print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
  header = "| model, export | snnTorch | snnTorch, from file | Norse | Norse, from file |"
  print(header)
  print("|---" * 5 + "|")
  import nir

  folder = tempfile.mkdtemp()
  for label, model, x, kwargs in cases():
    graph = export.to_nir(model, **kwargs)
    path = os.path.join(folder, "graph.nir")
    nir.write(path, graph)
    row = []
    for consumer in interop.CONSUMERS:
      row.append(cell(model, graph, x, consumer))
      try:
        row.append(cell(model, nir.read(path), x, consumer))
      except Exception as e:
        row.append(f"fails ({type(e).__name__})")
    print(f"| {label} | " + " | ".join(row) + " |")


if __name__ == "__main__":
  main()
