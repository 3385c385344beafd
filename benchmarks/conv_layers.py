"""Workload B's convolutions one by one: XLA:CPU with and without YNNPACK, and PyTorch.

    python benchmarks/conv_layers.py [--repeats 10]

For each 3×3 stride-1 convolution of workload B (T·B = 64 images, NHWC), the forward product,
the weight gradient and the input gradient are jitted separately and timed (median of
``--repeats`` calls after one compile call):

- ``XLA defaults``: jaxlib's default compilation (YNNPACK takes single convolutions);
- ``asgl_jax``: ``train.compiler_options()`` (XLA's own Eigen convolutions on CPU), what the
  models' conv layers run.

If PyTorch is installed (the ``run_all.sh`` venv), the same layer's forward and
forward + backward (input and weight gradients) in channels-last layout are timed too, with
``torch.set_flush_denormal(True)`` as in ``snn_training.py``. GFLOP/s counts 2·MACs per product.
"""

from __future__ import annotations

import argparse

import harness
import jax
import jax.numpy as jnp

from asgl_jax import train

# (height = width, input channels, output channels) of workload B's convolutions.
LAYERS = ((32, 3, 64), (32, 64, 128), (16, 128, 256), (8, 256, 256))
IMAGES = 64  # T · B = 2 · 32


def _products(conv_general_dilated):
  def _conv(x, w):
    return conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

  wgrad = lambda x, g, w: jax.vjp(lambda w_: _conv(x, w_), w)[1](g)[0]  # noqa: E731
  igrad = lambda x, g, w: jax.vjp(lambda x_: _conv(x_, w), x)[1](g)[0]  # noqa: E731
  return {"forward": lambda x, g, w: _conv(x, w), "weight grad": wgrad, "input grad": igrad}


def _torch_times(hw, cin, cout, repeats):
  try:
    import torch
  except ImportError:
    return None
  torch.set_flush_denormal(True)
  cl = torch.channels_last
  x = (torch.rand(IMAGES, cin, hw, hw) < 0.2).float().contiguous(memory_format=cl)
  w = torch.randn(cout, cin, 3, 3) * 0.05
  g = torch.randn(IMAGES, cout, hw, hw).contiguous(memory_format=cl)
  xr = x.clone().requires_grad_(cin != 3)  # no input gradient for the first layer, as in JAX
  wr = w.clone().requires_grad_(True)
  conv = torch.nn.functional.conv2d

  def fwd():
    with torch.no_grad():
      return conv(x, w, padding=1)

  def fwd_bwd():
    conv(xr, wr, padding=1).backward(g)
    return wr.grad

  return (harness.median_time(fwd, (), repeats), harness.median_time(fwd_bwd, (), repeats))


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--repeats", type=int, default=10)
  args = ap.parse_args()
  opts = train.compiler_options()
  variants = {
    "XLA defaults": (jax.lax.conv_general_dilated, None),
    "asgl_jax": (jax.lax.conv_general_dilated, opts),
  }
  print(f"train.compiler_options() = {opts}")
  print(
    "| layer | GFLOP per product | compiled with | forward ms | weight grad ms | input grad ms "
    "| sum ms | GFLOP/s |"
  )
  print("|---|---|---|---|---|---|---|---|")
  for hw, cin, cout in LAYERS:
    k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
    x = (jax.random.uniform(k1, (IMAGES, hw, hw, cin)) < 0.2).astype(jnp.float32)
    w = jax.random.normal(k2, (3, 3, cin, cout)) * 0.05
    g = jax.random.normal(k3, (IMAGES, hw, hw, cout))
    gflop = 2 * IMAGES * hw * hw * 9 * cin * cout / 1e9
    name = f"{hw}×{hw} {cin}→{cout}"
    # The first layer's input gradient is never needed (its input is the image).
    products = 2 if cin == 3 else 3
    for variant, (conv_fn, opts) in variants.items():
      ms = [
        1e3 * harness.median_time(jax.jit(f, compiler_options=opts), (x, g, w), args.repeats)
        for f in _products(conv_fn).values()
      ]
      total = sum(ms[:products])
      print(
        f"| {name} | {gflop:.2f} | {variant} | {ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} "
        f"| {total:.1f} | {products * gflop / total * 1e3:.0f} |"
      )
    t = _torch_times(hw, cin, cout, args.repeats)
    if t is not None:
      fwd, both = (1e3 * v for v in t)
      print(
        f"| {name} | {gflop:.2f} | PyTorch (oneDNN, channels-last) | {fwd:.1f} "
        f"| {both - fwd:.1f} (both gradients) | | {both:.1f} "
        f"| {products * gflop / both * 1e3:.0f} |"
      )


if __name__ == "__main__":
  main()
