"""What every experiment main shares: the workdir default, quiet logs, the summary printout."""

import json
import os
import time

from absl import logging

from asgl_jax import parallel, train


def setup(config) -> None:
  """Process-level set-up before any data or model is built."""
  logging.set_verbosity(
    logging.WARNING
  )  # keep Orbax's per-save INFO lines out of the progress output
  if config.get("distributed"):
    parallel.initialize_distributed()


def run(config, workdir: str | None, dataset, name: str) -> dict:
  """Trains and evaluates ``dataset`` with ``config``; prints and returns the summary."""
  logging.set_verbosity(
    logging.WARNING
  )  # keep Orbax's per-save INFO lines out of the progress output
  workdir = workdir or os.path.join("runs", time.strftime(f"{name}-%Y%m%d-%H%M%S"))
  summary = train.train_and_evaluate(config, workdir, dataset)
  summary.pop("final_state")
  print(json.dumps(summary, indent=2))
  print(f"Embedded SNN test accuracy: {summary['test_snn_accuracy']:.4f}  (workdir: {workdir})")
  return summary
