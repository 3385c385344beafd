"""Sweeps over one config: SG against ASGL by initial width, fixed against raised p, seeds.

- :func:`run_ablation`: SG vs ASGL for each initial width (paper Table 2).
- :func:`run_noise_study`: fixed spike-mode probabilities vs p raised during training (§5.4).
- :func:`run_seeds`: one config over several seeds, reported as mean ± standard deviation.

Each run trains with :func:`~asgl_jax.train.train_and_evaluate` in its own sub-directory of
the workdir and is skipped when its ``summary.json`` exists, so an interrupted sweep resumes.
The variants are made by :func:`asgl_jax.train.builder.override`; nothing here reads the config.
"""

from __future__ import annotations

import json
import math
import os
import statistics
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


def run_ablation(config, workdir: str, dataset, *, methods, widths, zetas=()) -> list[dict]:
  """Trains ``config`` with each method (``"sg"``, ``"asgl"``) from each initial width α₀;
  returns ``[{"method", "width", "test_snn_accuracy"}]``. With ``zetas``, ASGL trains once per
  noise rate ζ (``config.noise.zeta``; the records add ``"zeta"``), as Table 12 does for
  Table 2's CIFAR-10 column (the best of ζ ∈ {0.2, 0.5, 0.8})."""
  records = []
  for method in methods:
    for zeta in zetas if method == "asgl" and zetas else (None,):
      for width in widths:
        fields = {"method": method, "neuron.alpha": float(width)}
        name, title = f"{method}_w{width:g}", f"{method.upper()}, initial width {width:g}"
        if zeta is not None:
          fields["noise.zeta"] = float(zeta)
          name, title = f"{method}_z{zeta:g}_w{width:g}", f"{title}, ζ = {zeta:g}"
        s, _ = _train_once(
          builder.override(config, **fields), os.path.join(workdir, name), dataset, title
        )
        rec = {"method": method, "width": float(width), "test_snn_accuracy": s["test_snn_accuracy"]}
        if zeta is not None:
          rec["zeta"] = float(zeta)
        records.append(rec)
  return records


def _ablation_rows(records) -> dict[str, dict[float, float]]:
  """``{row label: {width: accuracy}}``: one row per method (and ζ), plus ASGL's best over ζ."""
  rows: dict[str, dict[float, float]] = {}
  for r in records:
    label = r["method"].upper() + (f" (ζ = {r['zeta']:g})" if "zeta" in r else "")
    rows.setdefault(label, {})[r["width"]] = r["test_snn_accuracy"]
  swept = [r for r in records if "zeta" in r]
  if len({r["zeta"] for r in swept}) > 1:
    best: dict[float, float] = {}
    for r in swept:
      best[r["width"]] = max(best.get(r["width"], -math.inf), r["test_snn_accuracy"])
    rows["ASGL (best ζ)"] = best
  return rows


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
          if not hist or k in hist[-1]  # no validation under the paper's protocol
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
  rows = _ablation_rows(records)
  lines = ["| method | " + " | ".join(f"α₀ = {w:g}" for w in widths) + " |"]
  lines.append("|---|" + "---|" * len(widths))
  for label, acc in rows.items():
    cells = [f"{100 * acc[w]:.2f}" if w in acc else "–" for w in widths]
    lines.append(f"| {label} | " + " | ".join(cells) + " |")
  table = "\n".join(lines) + "\n"
  with open(os.path.join(workdir, "ablation.md"), "w") as f:
    f.write("Embedded-SNN test accuracy (%) by initial width\n\n" + table)
  try:
    from matplotlib.figure import Figure  # no pyplot: no global backend, no open windows

    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    for label, acc in rows.items():
      ws = [w for w in widths if w in acc]
      ax.plot(ws, [100 * acc[w] for w in ws], "o-", label=label)
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
      line = ax[2].plot(c["epoch"], c["p"], label=r["name"])[0]
      if "validation_snn_accuracy" in c:
        ax[0].plot(c["epoch"], c["validation_snn_accuracy"], color=line.get_color())
        ax[1].plot(c["epoch"], c["validation_noisy_accuracy"], color=line.get_color())
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
    ax[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(workdir, "noise_study.png"), dpi=100)
  except ImportError:
    pass
  return table


def run_seeds(config, workdir: str, load_dataset, *, seeds) -> list[dict]:
  """Trains ``config`` once per seed in ``<workdir>/seed_<s>``; the dataset is loaded per seed
  by ``load_dataset(config)``, so seeded splits and augmentation follow the seed. Returns
  ``[{"seed", <every numeric test_* score of the summary>}]``."""
  seeds = [int(s) for s in seeds]
  if not seeds or len(set(seeds)) != len(seeds):
    raise ValueError(f"run_seeds: need distinct seeds, got {seeds}")
  records = []
  for seed in seeds:
    c = builder.override(config, seed=seed)
    summary, _ = _train_once(
      c, os.path.join(workdir, f"seed_{seed}"), load_dataset(c), f"seed {seed}"
    )
    scores = {
      k: float(v)
      for k, v in summary.items()
      if k.startswith("test_") and isinstance(v, int | float)
    }
    records.append({"seed": seed, **scores})
  return records


def seed_statistics(records: list[dict]) -> dict[str, dict[str, float]]:
  """``{score: {"mean", "std", "n"}}`` over the seeds of :func:`run_seeds` (``std``: the sample
  standard deviation, ``n − 1`` in the denominator; NaN for one seed).

  Example:
    >>> from asgl_jax.train import sweeps
    >>> recs = [{"seed": 0, "test_snn_accuracy": 0.90}, {"seed": 1, "test_snn_accuracy": 0.94}]
    >>> st = sweeps.seed_statistics(recs)["test_snn_accuracy"]
    >>> round(st["mean"], 4), round(st["std"], 4), st["n"]
    (0.92, 0.0283, 2)
  """
  keys = [k for k in records[0] if k != "seed"] if records else []
  out = {}
  for k in keys:
    vals = [r[k] for r in records]
    std = statistics.stdev(vals) if len(vals) > 1 else math.nan
    out[k] = {"mean": statistics.fmean(vals), "std": std, "n": len(vals)}
  return out


def write_seed_report(records: list[dict], workdir: str) -> str:
  """Writes ``seeds.json`` (per-seed scores and their statistics) and ``seeds.md`` of
  :func:`run_seeds`'s records; returns the Markdown table."""
  stats = seed_statistics(records)
  with open(os.path.join(workdir, "seeds.json"), "w") as f:
    json.dump({"runs": records, "statistics": stats}, f, indent=2)
  pct = lambda k: 100.0 if k.endswith("accuracy") else 1.0  # noqa: E731
  seeds = [r["seed"] for r in records]
  lines = [
    "| score | mean ± std | " + " | ".join(f"seed {s}" for s in seeds) + " |",
    "|---|---|" + "---|" * len(seeds),
  ]
  for k, st in stats.items():
    f = pct(k)
    cells = " | ".join(f"{f * r[k]:.2f}" for r in records)
    lines.append(f"| {k} | {f * st['mean']:.2f} ± {f * st['std']:.2f} | {cells} |")
  unit = " (accuracies in %)" if any(k.endswith("accuracy") for k in stats) else ""
  table = (
    f"Test scores over {len(records)} seeds{unit}; std with n − 1\n\n" + "\n".join(lines) + "\n"
  )
  with open(os.path.join(workdir, "seeds.md"), "w") as f:
    f.write(table)
  return table
