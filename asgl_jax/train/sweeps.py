"""Sweeps over one config: SG against ASGL by initial width, and fixed against raised p.

- :func:`run_ablation`: SG vs ASGL for each initial width (paper Table 2).
- :func:`run_noise_study`: fixed spike-mode probabilities vs p raised during training (§5.4).

Each run trains with :func:`~asgl_jax.train.train_and_evaluate` in its own sub-directory of
the workdir and is skipped when its ``summary.json`` exists, so an interrupted sweep resumes.
The variants are made by :func:`asgl_jax.train.builder.override`; nothing here reads the config.
"""

from __future__ import annotations

import json
import os
import sys

from asgl_jax import parallel
from asgl_jax.train import builder, loop


def _train_once(config, workdir: str, dataset, title: str) -> tuple[dict, list[dict]]:
  """The summary and per-epoch records of one run: trained now, or read back if it is done."""
  done = os.path.join(workdir, "summary.json")
  if os.path.exists(done):
    with open(done) as f:
      summary = json.load(f)
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
      return summary, [json.loads(line) for line in f if line.strip()]
  if parallel.is_writer():
    print(f"== {title} ==", file=sys.stderr)
  summary = loop.train_and_evaluate(config, workdir, dataset)
  summary.pop("final_state")
  return summary, summary.pop("history")


def run_ablation(config, workdir: str, dataset, *, methods, widths) -> list[dict]:
  """Trains ``config`` with each method (``"sg"``, ``"asgl"``) from each initial width α₀;
  returns ``[{"method", "width", "test_snn_accuracy"}]``."""
  records = []
  for method in methods:
    for width in widths:
      c = builder.override(config, **{"method": method, "neuron.alpha": float(width)})
      sub = os.path.join(workdir, f"{method}_w{width:g}")
      s, _ = _train_once(c, sub, dataset, f"{method.upper()}, initial width {width:g}")
      records.append(
        {"method": method, "width": float(width), "test_snn_accuracy": s["test_snn_accuracy"]}
      )
  return records


def noise_settings(fixed_p, schedule) -> list[tuple[str, float, float, tuple[int, ...]]]:
  """``(name, p0, zeta, milestones)`` of every run: one per fixed ``p``, and the raised
  ``schedule = (p0, zeta, milestones)``."""
  runs = [(f"fixed_p{p:g}", float(p), 1.0, ()) for p in fixed_p]
  p0, zeta, milestones = schedule
  runs.append((f"raised_p{p0:g}_zeta{zeta:g}", float(p0), float(zeta), tuple(milestones)))
  return runs


def run_noise_study(config, workdir: str, dataset, *, fixed_p, schedule) -> list[dict]:
  """Trains ``config`` at each fixed spike-mode probability and with ``p`` raised by the noise
  schedule ``(p0, zeta, milestones)``; returns test accuracies and per-epoch curves."""
  results = []
  for name, p0, zeta, milestones in noise_settings(fixed_p, schedule):
    c = builder.override(
      config, **{"noise.p0": p0, "noise.zeta": zeta, "noise.milestones": milestones}
    )
    sub = os.path.join(workdir, name)
    summary, hist = _train_once(c, sub, dataset, name)
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


def write_ablation_report(records, workdir):
  """Writes ablation.json, ablation.md and ablation.png of :func:`run_ablation`'s records;
  returns the Markdown table."""
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


def write_noise_report(results, workdir):
  """Writes noise_study.json, .md and .png of :func:`run_noise_study`'s results; returns the
  Markdown table."""
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
