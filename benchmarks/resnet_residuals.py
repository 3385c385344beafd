"""What the ResNet-18 SNN training step keeps for its backward pass (workload D's memory).

    python benchmarks/resnet_residuals.py [--batch 32]

``jax.ad_checkpoint.print_saved_residuals`` lists every array that autodiff saves from the forward
pass of ``resnet18`` (CIFAR-10, T = 2, ASGL spike at p = 0.8). This script groups them by the
source line that produced them and prints the largest groups, then XLA's accounting of the
compiled training step (SGD with momentum): its temporary buffers, which hold those residuals
and the backward pass's own intermediates. The residual list counts a reshape of a saved
array, or a broadcast constant, as an array of its own, so its total is an upper bound.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import math
import re

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.ad_checkpoint import print_saved_residuals

from asgl_jax import losses, models, train


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--batch", type=int, default=32)
  ap.add_argument("--top", type=int, default=6)
  args = ap.parse_args()
  neuron = {"decay": 0.5, "threshold": 1.0, "alpha": 1.0, "surrogate": "rect"}
  model = models.resnet18(num_classes=10, time_steps=2, rngs=nnx.Rngs(0), neuron=neuron)
  graphdef, params, stats = train.split_model(model)
  x = jnp.zeros((args.batch, 32, 32, 3))
  key = jax.random.key(0)

  def loss(params):
    out = train.merge_model(graphdef, params, stats)(x, key=key, p=0.8, train=True)
    return jnp.sum(out)

  text = io.StringIO()
  with contextlib.redirect_stdout(text):
    print_saved_residuals(loss, params)
  size = collections.Counter()
  count = collections.Counter()
  for line in text.getvalue().splitlines():  # "f32[2,32,32,32,64] output of mul from ..."
    m = re.match(r"(\w+)\[([\d,]*)\]\s+(.*)", line.strip())
    if not m:
      continue
    dtype, shape, src = m.groups()
    bits = re.search(r"\d+", dtype)  # f32, bf16, u32, ...; bool is one byte
    itemsize = int(bits.group()) // 8 if bits else 1
    nbytes = math.prod(int(d) for d in shape.split(",") if d) * itemsize
    if src.startswith("from the argument"):
      where = "parameters (arguments)"
    else:
      loc = re.search(r"from (\S+?):(\d+):\d+ \((\w+)\)", src)
      what = src.split(" from ")[0].replace("output of ", "")
      if loc:
        where = f"{what} in {loc.group(3)} ({loc.group(1).rsplit('/', 1)[-1]}:{loc.group(2)})"
      else:
        where = src
    size[where] += nbytes
    count[where] += 1
  print(f"# jax {jax.__version__}; resnet18, T = 2, B = {args.batch}")
  print("| saved by autodiff (grouped by source) | arrays | MiB |")
  print("|---|---|---|")
  for where, b in size.most_common(args.top):
    print(f"| {where} | {count[where]} | {b / 2**20:.1f} |")
  print(f"| total listed | {sum(count.values())} | {sum(size.values()) / 2**20:.1f} |")

  tx = optax.sgd(0.1, momentum=0.9)
  state = train.TrainState(jnp.int32(0), params, stats, tx.init(params))
  step = jax.jit(
    train.make_train_step(graphdef, tx, losses.cross_entropy),
    donate_argnums=0,
    compiler_options=train.compiler_options(),
  )
  batch = {"image": x, "label": jnp.zeros((args.batch,), jnp.int32)}
  mem = step.lower(state, batch, key, jnp.float32(0.8)).compile().memory_analysis()
  print(f"\nXLA temporaries of the compiled step: {mem.temp_size_in_bytes / 2**20:.1f} MiB")


if __name__ == "__main__":
  main()
