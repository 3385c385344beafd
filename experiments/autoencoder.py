"""Spiking autoencoder (paper App. B.3, Table 8): SG vs ASGL over initial widths, PSNR and SSIM.

  python -m experiments.autoencoder --config=experiments/configs/autoencoder_mnist.py [--workdir=...]

For each (method, width) of ``config.autoencoder`` trains the 784-…-784 spiking
MLP to reconstruct its input (direct input, MSE on the time-mean output) from
the same seed and initialisation, with the common training loop (one resumable
workdir per run), then scores the embedded SNN's reconstructions of the held-out
test images. Writes ``autoencoder.json`` (with each run's per-epoch widths),
``autoencoder.md``, ``reconstructions.png`` and ``widths.png`` (Fig. 3f / 5a: the widths of
each ASGL run over the epochs) to the workdir.
"""

import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags

from asgl_jax import analysis, data, parallel, train
from asgl_jax.data import mnist as mnist_data
from experiments import common

_CONFIG = common.define_config()
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/autoencoder-<time>)."
)


def pixels(x):
  """Normalised MNIST images back to [0, 1] pixels, flattened: [B, 784]."""
  return (np.asarray(x) * mnist_data.STD + mnist_data.MEAN).reshape(len(x), -1).astype(np.float32)


def pixel_dataset(dataset: data.ArrayDataset) -> data.ArrayDataset:
  """``dataset`` with each image as its 784 pixels in [0, 1]: the input and the target."""
  splits = {k: (pixels(x), y) for k, (x, y) in dataset.splits.items()}
  return data.ArrayDataset(splits, num_classes=dataset.num_classes, name="mnist_pixels")


def train_one(config, dataset, method, width, workdir):
  """Trains the 784-…-784 spiking MLP with ``method`` from initial width ``width`` (the common
  loop, ``task="reconstruct"``) and scores the embedded SNN's test reconstructions."""
  c = config.copy_and_resolve_references()
  with c.unlocked():
    c.method, c.neuron.alpha = method, float(width)
  summary = train.train_and_evaluate(c, workdir, dataset)
  snn = train.model_from_state(c, 784, summary["final_state"])
  x_test = jnp.asarray(dataset.splits["test"][0])
  recon = jnp.clip(jax.jit(lambda x: snn(x, train=False).mean(0))(x_test), 0.0, 1.0)
  img = lambda a: a.reshape(-1, 28, 28)  # noqa: E731
  return {
    "method": method,
    "width": float(width),
    "psnr": summary["test_snn_psnr"],
    "ssim": float(jnp.mean(analysis.ssim(img(x_test), img(recon)))),
    "final_train_loss": summary["final_train_loss"],
    "final_widths": summary["widths"],
    # per layer, the width after each epoch (Fig. 3f, Fig. 5a)
    "width_trajectory": {
      k[len("width/") :]: [r[k] for r in summary["history"]]
      for k in (summary["history"][-1] if summary["history"] else {})
      if k.startswith("width/")
    },
  }, np.asarray(img(recon[: config.autoencoder.num_samples]))


def plot_width_trajectories(records, path: str) -> None:
  """Fig. 3f / Fig. 5a: each ASGL run's per-layer width over the epochs (SG keeps its widths)."""
  from matplotlib.figure import Figure

  runs = [r for r in records if r["method"] == "asgl" and r["width_trajectory"]]
  if not runs:
    return
  fig = Figure(figsize=(3.6 * len(runs), 3.4))
  axes = np.atleast_1d(fig.subplots(1, len(runs), sharey=True))
  for ax, r in zip(axes, runs):
    for layer, ws in r["width_trajectory"].items():
      ax.plot(range(1, len(ws) + 1), ws, label=layer.replace("lifs/", "layer "))
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(f"ASGL, α₀ = {r['width']:g}", fontsize=10)
    ax.grid(alpha=0.3)
  axes[0].set_ylabel("width α (layer mean)")
  axes[-1].legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=100)


def write_report(records, samples, x_samples, workdir):
  with open(os.path.join(workdir, "autoencoder.json"), "w") as f:
    json.dump(records, f, indent=2)
  widths = sorted({r["width"] for r in records})
  lines = [
    "| method | " + " | ".join(f"α₀ = {w:g}" for w in widths) + " |",
    "|---|" + "---|" * len(widths),
  ]
  for m in sorted({r["method"] for r in records}):
    by_w = {r["width"]: r for r in records if r["method"] == m}
    lines.append(
      f"| {m.upper()} | "
      + " | ".join(f"{by_w[w]['psnr']:.2f} / {by_w[w]['ssim']:.3f}" for w in widths)
      + " |"
    )
  table = (
    "PSNR (dB) / SSIM of the embedded SNN's test reconstructions\n\n" + "\n".join(lines) + "\n"
  )
  with open(os.path.join(workdir, "autoencoder.md"), "w") as f:
    f.write(table)
  try:
    from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

    rows = [("input", x_samples)] + [
      (f"{r['method'].upper()} α₀={r['width']:g}", s) for r, s in zip(records, samples)
    ]
    n = x_samples.shape[0]
    fig = Figure(figsize=(n * 0.9, len(rows) * 0.95))
    axes = fig.subplots(len(rows), n)
    for i, (label, imgs) in enumerate(rows):
      for j in range(n):
        axes[i, j].imshow(imgs[j], cmap="gray", vmin=0, vmax=1)
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
      axes[i, 0].set_ylabel(label, rotation=0, ha="right", fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(workdir, "reconstructions.png"), dpi=90)
    plot_width_trajectories(records, os.path.join(workdir, "widths.png"))
  except ImportError:
    pass
  return table


def main(argv):
  del argv
  config = _CONFIG.value
  common.setup(config)
  workdir = common.sweep_workdir(_WORKDIR.value, "autoencoder")
  dataset = pixel_dataset(common.load_dataset(config))
  records, samples = [], []
  for method in config.autoencoder.methods:
    for width in config.autoencoder.widths:
      t0 = time.perf_counter()
      run_dir = os.path.join(workdir, f"{method}_width{width:g}")
      rec, imgs = train_one(config, dataset, method, width, run_dir)
      rec["wall_seconds"] = time.perf_counter() - t0
      if parallel.is_writer():
        print(
          f"{method.upper()} α₀={width:g}: PSNR {rec['psnr']:.2f} dB, SSIM {rec['ssim']:.3f} ({rec['wall_seconds']:.0f} s)",
          file=sys.stderr,
        )
      records.append(rec)
      samples.append(imgs)
  x_samples = dataset.splits["test"][0][: config.autoencoder.num_samples].reshape(-1, 28, 28)
  if parallel.is_writer():
    print(write_report(records, samples, x_samples, workdir))


if __name__ == "__main__":
  common.run_app(main, "experiments.autoencoder")
