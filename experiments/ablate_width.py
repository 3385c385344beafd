"""Width-robustness ablation (paper Table 2, 11, 12, 14): SG vs ASGL for each initial width.

  python -m experiments.ablate_width --config=experiments/configs/ablate_width_mnist.py [--workdir=...]

Trains every (method, initial width) pair of ``config.ablation`` from the same
seed and initialisation, each in ``<workdir>/<method>_w<width>`` (a finished
pair is not rerun, so the command resumes), then writes ``ablation.json`` (a list
of ``{method, width, test_snn_accuracy}``), ``ablation.md`` (a table) and
``ablation.png`` (accuracy against width) to the workdir.
"""

import json
import os
import sys
import time

from absl import app, flags
from ml_collections import config_flags

from asgl_jax import data
from asgl_jax.data import image_pipelines
from experiments import common

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file.", lock_config=True)
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (default: runs/ablate_width-<time>)."
)
flags.mark_flag_as_required("config")


def load_dataset(config):
  d = config.dataset
  if d.name == "mnist_subset":
    return data.load_mnist_subset(
      val_per_class=d.val_per_class,
      test_per_class=d.test_per_class,
      seed=config.seed,
      max_shift=d.max_shift,
    )
  return image_pipelines.ImagePipeline(
    d.name,
    data_dir=d.data_dir or None,
    validation_size=d.validation_size,
    augment=d.augment,
    autoaugment=d.autoaugment,
    cutout=d.cutout,
    download=d.download,
  )


def write_report(records, workdir):
  """ablation.json, ablation.md and ablation.png from ``records``."""
  with open(os.path.join(workdir, "ablation.json"), "w") as f:
    json.dump(records, f, indent=2)
  widths = sorted({r["width"] for r in records})
  methods = sorted({r["method"] for r in records})
  acc = {(r["method"], r["width"]): r["test_snn_accuracy"] for r in records}
  lines = ["| method | " + " | ".join(f"α₀ = {w:g}" for w in widths) + " |"]
  lines.append("|---|" + "---|" * len(widths))
  for m in methods:
    cells = [f"{100 * acc[(m, w)]:.2f}" if (m, w) in acc else "–" for w in widths]
    lines.append(f"| {m.upper()} | " + " | ".join(cells) + " |")
  table = "\n".join(lines) + "\n"
  with open(os.path.join(workdir, "ablation.md"), "w") as f:
    f.write("Embedded-SNN test accuracy (%) by initial width\n\n" + table)
  try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m in methods:
      ws = [w for w in widths if (m, w) in acc]
      ax.plot(ws, [100 * acc[(m, w)] for w in ws], "o-", label=m.upper())
    ax.set_xscale("log")
    ax.set_xlabel("initial width α₀")
    ax.set_ylabel("embedded-SNN test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(workdir, "ablation.png"), dpi=100)
    plt.close(fig)
  except ImportError:
    pass
  return table


def run_ablation(config, workdir: str, dataset) -> list[dict]:
  records = []
  for method in config.ablation.methods:
    for width in config.ablation.widths:
      sub = os.path.join(workdir, f"{method}_w{width:g}")
      done = os.path.join(sub, "summary.json")
      if not os.path.exists(done):
        c = config.copy_and_resolve_references()
        with c.unlocked():
          c.method = method
          c.neuron.alpha = float(width)
        print(f"== {method.upper()}, initial width {width:g} ==", file=sys.stderr)
        common.run(c, sub, dataset, f"{method}_w{width:g}")
      with open(done) as f:
        s = json.load(f)
      records.append(
        {"method": method, "width": float(width), "test_snn_accuracy": s["test_snn_accuracy"]}
      )
  return records


def main(argv):
  del argv
  config = _CONFIG.value
  common.setup(config)
  workdir = _WORKDIR.value or os.path.join("runs", time.strftime("ablate_width-%Y%m%d-%H%M%S"))
  os.makedirs(workdir, exist_ok=True)
  records = run_ablation(config, workdir, load_dataset(config))
  print(write_report(records, workdir))


if __name__ == "__main__":
  app.run(main)
