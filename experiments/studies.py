"""Sweeps shared by the study mains and the notebooks (no flags here, so any of them can import it).

- :func:`run_ablation`: SG vs ASGL for each initial width (paper Table 2).
- :func:`run_noise_study`: fixed spike-mode probabilities vs p raised during training (§5.4).

Each run trains in its own sub-directory of the workdir and is skipped when its
``summary.json`` exists, so an interrupted sweep resumes.
"""

import json
import os
import sys

from experiments import common
from experiments.common import load_dataset

__all__ = [
  "load_dataset",
  "run_ablation",
  "run_noise_study",
  "write_ablation_report",
  "write_noise_report",
]


def write_ablation_report(records, workdir):
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
    from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    for m in methods:
      ws = [w for w in widths if (m, w) in acc]
      ax.plot(ws, [100 * acc[(m, w)] for w in ws], "o-", label=m.upper())
    ax.set_xscale("log")
    ax.set_xlabel("initial width α₀")
    ax.set_ylabel("embedded-SNN test accuracy (%)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(workdir, "ablation.png"), dpi=100)
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


def noise_settings(config):
  """(name, p0, zeta, milestones) of every run."""
  runs = [(f"fixed_p{p:g}", float(p), 1.0, ()) for p in config.study.fixed_p]
  s = config.study.schedule
  runs.append((f"raised_p{s.p0:g}_zeta{s.zeta:g}", float(s.p0), float(s.zeta), tuple(s.milestones)))
  return runs


def run_noise_study(config, workdir, dataset):
  results = []
  for name, p0, zeta, milestones in noise_settings(config):
    sub = os.path.join(workdir, name)
    if not os.path.exists(os.path.join(sub, "summary.json")):
      c = config.copy_and_resolve_references()
      with c.unlocked():
        c.noise.p0, c.noise.zeta, c.noise.milestones = p0, zeta, milestones
      print(f"== {name} ==", file=sys.stderr)
      common.run(c, sub, dataset, name)
    with open(os.path.join(sub, "summary.json")) as f:
      summary = json.load(f)
    with open(os.path.join(sub, "metrics.jsonl")) as f:
      hist = [json.loads(line) for line in f if line.strip()]
    results.append(
      {
        "name": name,
        "p0": p0,
        "zeta": zeta,
        "milestones": list(milestones),
        "test_snn_accuracy": summary["test_snn_accuracy"],
        "test_noisy_accuracy": summary["test_noisy_accuracy"],
        "curves": {
          k: [r[k] for r in hist]
          for k in ("epoch", "p", "validation_snn_accuracy", "validation_noisy_accuracy")
        },
      }
    )
  return results


def write_noise_report(results, workdir):
  with open(os.path.join(workdir, "noise_study.json"), "w") as f:
    json.dump(results, f, indent=2)
  lines = ["| run | final p | test SNN (%) | test noisy (%) |", "|---|---|---|---|"]
  for r in results:
    lines.append(
      f"| {r['name']} | {r['curves']['p'][-1]:.3f} | {100 * r['test_snn_accuracy']:.2f} | {100 * r['test_noisy_accuracy']:.2f} |"
    )
  table = "\n".join(lines) + "\n"
  with open(os.path.join(workdir, "noise_study.md"), "w") as f:
    f.write(table)
  try:
    from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

    fig = Figure(figsize=(15, 4))
    ax = fig.subplots(1, 3)
    for r in results:
      c = r["curves"]
      line = ax[0].plot(c["epoch"], c["validation_snn_accuracy"], label=r["name"])[0]
      ax[1].plot(
        c["epoch"], c["validation_noisy_accuracy"], color=line.get_color(), label=r["name"]
      )
      ax[2].plot(c["epoch"], c["p"], color=line.get_color(), label=r["name"])
    for a, t in zip(
      ax,
      (
        "validation accuracy: embedded SNN",
        "validation accuracy: noisy network",
        "spike-mode probability p",
      ),
    ):
      a.set_title(t)
      a.set_xlabel("epoch")
    ax[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(workdir, "noise_study.png"), dpi=100)
  except ImportError:
    pass
  return table
