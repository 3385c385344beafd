"""What every experiment main shares: the workdir default, quiet logs, the summary printout."""

import json
import os
import signal
import sys
import time

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from asgl_jax import parallel, train
from asgl_jax.train import builder, preemption

_PROG = "experiments"
_PRINT_CONFIG = flags.DEFINE_bool(
  "print_config", False, "Print the config with every override applied, and exit."
)


def run_app(main, module: str) -> None:
  """``absl.app.run(main)`` for ``python -m <module>``; on a CPU-only Linux host the process
  first restarts with transparent huge pages (:func:`asgl_jax.train.relaunch_with_hugepages`).
  A misspelt ``--config.field`` is one line naming the field, not a traceback."""
  global _PROG
  _PROG = module
  train.relaunch_with_hugepages(module)
  signal.signal(signal.SIGINT, signal.default_int_handler)  # imports are done (see __init__)
  app.run(main, flags_parser=_parse_flags)


def define_config(default: str | None = None):
  """``--config`` (an ml_collections config file, locked: ``--config.x=...`` overrides only
  existing fields). ml_collections applies the overrides on the command line here, at import;
  a misspelt field ends the program with one line naming it and the closest field."""
  try:
    holder = config_flags.DEFINE_config_file("config", default, "Config file.", lock_config=True)
  except (AttributeError, KeyError) as e:
    stem = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv else ""))[0]
    _no_such_field(f"experiments.{stem or 'main'}", e)
  if default is None:
    flags.mark_flag_as_required("config")
  return holder


def _no_such_field(prog: str, e: BaseException) -> None:
  while e.args and isinstance(e.args[0], BaseException):  # ml_collections wraps the KeyError
    e = e.args[0]
  msg = " ".join(str(e.args[0] if e.args else e).split())
  print(f"{prog}: no such config field: {msg}", file=sys.stderr)
  sys.exit(2)


def _parse_flags(argv):
  try:
    rest = app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError) as e:  # an override of a field the --config file lacks
    _no_such_field(_PROG, e)
  if _PRINT_CONFIG.value:
    print(flags.FLAGS["config"].value)
    sys.exit(0)
  return rest


def prog() -> str:
  """The running main's module name (``experiments.dvs_cifar10``, ...), for messages."""
  return _PROG


def setup(config) -> None:
  """Process-level set-up before any data or model is built."""
  logging.set_verbosity(
    logging.WARNING
  )  # keep Orbax's per-save INFO lines out of the progress output
  if config.get("distributed"):
    parallel.initialize_distributed(
      config.get("coordinator_address") or None,
      None if config.get("num_processes", -1) < 0 else config.num_processes,
      None if config.get("process_id", -1) < 0 else config.process_id,
    )


def sweep_workdir(workdir: str | None, name: str) -> str:
  """The workdir of a main that trains several runs: ``workdir``, or ``runs/<name>-<time>``
  with one process (several processes need one workdir that all of them see); created."""
  if workdir is None and jax.process_count() > 1:
    raise ValueError("several processes need one --workdir that all of them see")
  workdir = workdir or os.path.join("runs", time.strftime(f"{name}-%Y%m%d-%H%M%S"))
  os.makedirs(workdir, exist_ok=True)
  return workdir


def load_dataset(config):
  """The dataset named by ``config.dataset`` (:func:`asgl_jax.train.builder.load_dataset`)."""
  return builder.load_dataset(config)


def train_main(config, workdir: str | None, prog: str) -> dict:
  """Body of the train-one-config mains: set up, load the data (a missing dataset exits
  with status 2 and a message saying how to get it, not a traceback), train, report."""
  setup(config)
  try:
    try:
      dataset = load_dataset(config)
    except (FileNotFoundError, ImportError) as e:  # DatasetUnavailableError: FileNotFoundError
      print(f"{prog}: {e}", file=sys.stderr)
      sys.exit(2)
    return run(config, workdir, dataset, config.dataset.name)
  except preemption.Preempted as e:
    print(f"{prog}: {parallel.process_tag()}{e}", file=sys.stderr)
    sys.exit(e.exit_code)
  except KeyboardInterrupt:
    print(
      f"{prog}: {parallel.process_tag()}interrupted; checkpoints written so far are kept "
      "(rerun the same command to resume)",
      file=sys.stderr,
    )
    sys.exit(preemption.EXIT_INTERRUPTED)


def run(config, workdir: str | None, dataset, name: str) -> dict:
  """Trains and evaluates ``dataset`` with ``config``; prints and returns the summary."""
  logging.set_verbosity(
    logging.WARNING
  )  # keep Orbax's per-save INFO lines out of the progress output
  if workdir is None and jax.process_count() > 1:
    raise ValueError("several processes need one --workdir that all of them see")
  workdir = workdir or os.path.join("runs", time.strftime(f"{name}-%Y%m%d-%H%M%S"))
  summary = train.train_and_evaluate(config, workdir, dataset)
  state = summary.pop("final_state")
  summary.pop("history")
  if not parallel.is_writer():
    return summary
  if config.get("export_nir"):
    summary["nir_file"] = export_nir(config, dataset, state, workdir)
  print(json.dumps(summary, indent=2))
  score = next(k for k in summary if k.startswith("test_snn_"))
  print(
    f"Embedded SNN test {score[len('test_snn_') :]}: {summary[score]:.4f}  (workdir: {workdir})"
  )
  return summary


def export_nir(config, dataset, state, workdir: str) -> str:
  """Writes the trained embedded SNN to ``<workdir>/model.nir`` (see :mod:`asgl_jax.export`)."""
  import nir

  from asgl_jax import export

  model = train.model_from_state(config, dataset.num_classes, state)
  sample = next(dataset.eval_batches("test", 1))["image"]
  graph = export.to_nir(model, dt=config.get("nir_dt", 1e-4), input_shape=sample.shape[1:])
  path = os.path.join(workdir, "model.nir")
  nir.write(path, graph)
  print(f"NIR graph written to {path}")
  return path
