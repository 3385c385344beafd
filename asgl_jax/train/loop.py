"""The training loop every experiment main runs: train, evaluate each epoch, checkpoint, report."""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from asgl_jax import _backend, models, parallel
from asgl_jax import checkpoint as ckpt_lib
from asgl_jax.train import builder, preemption, reporting
from asgl_jax.train import step as step_lib


def train_and_evaluate(config, workdir: str, dataset) -> dict[str, Any]:
  """Trains with ASGL (or SG) and evaluates; resumes from ``workdir`` if a checkpoint exists.

  ``config`` is resolved by :func:`asgl_jax.train.builder.build_run` and written, as run,
  to ``<workdir>/config.json``; :func:`run_training` does the rest.

  Returns:
    The run summary (also written to ``<workdir>/summary.json``), with the final
    :class:`~asgl_jax.train.TrainState` under ``"final_state"`` and the per-epoch records
    under ``"history"`` (on every process; only process 0 writes files).
  """
  dataset = builder.apply_protocol(config, dataset)
  run = builder.build_run(config, dataset)
  if parallel.is_writer():
    os.makedirs(workdir, exist_ok=True)
    builder.write_config(config, workdir)
  return run_training(run, dataset, workdir)


def run_training(run: builder.Run, dataset, workdir: str) -> dict[str, Any]:
  """The loop of :func:`train_and_evaluate` for a resolved :class:`~asgl_jax.train.Run`.

  Each epoch logs the training loss and metrics, the validation score of the noisy network
  and of the embedded SNN (not with ``protocol="paper"``, which has no validation), p,
  per-layer widths and firing rates. The test split is evaluated once, at the end, with the
  final parameters (never used for model selection).

  With several processes every process trains and evaluates (the collectives), all of them
  save the checkpoints together, and only process 0 writes the other files and prints.
  A preemption signal (``run.preemption_signals``) ends the step, saves a checkpoint and
  raises :class:`~asgl_jax.train.preemption.Preempted`.
  """
  t_start = time.perf_counter()
  os.makedirs(workdir, exist_ok=True)
  lock = parallel.lock_workdir(workdir)
  try:
    return _run(run, dataset, workdir, t_start)
  finally:
    if lock is not None:
      lock.close()


def _run(run: builder.Run, dataset, workdir: str, t_start: float) -> dict[str, Any]:
  parallel.check_shared_workdir(workdir)
  writes = parallel.is_writer()
  mesh = parallel.make_mesh(run.num_devices)
  n_dev = mesh.devices.size
  if run.batch_size % n_dev:
    raise ValueError(f"config.batch_size {run.batch_size} is not divisible by the {n_dev} devices")
  rows = parallel.process_rows(mesh, run.batch_size)  # this process's part of every batch
  train_batch, eval_batches = _row_readers(dataset, rows)
  if jax.process_count() > 1:
    print(
      f"{parallel.process_tag()}feeds rows {rows.start}–{rows.stop - 1} of every batch of "
      f"{run.batch_size} to its {len(mesh.local_devices)} devices",
      file=sys.stderr,
    )
  total_steps, steps_per_epoch, num_epochs = run.total_steps, run.steps_per_epoch, run.num_epochs
  score = run.score
  validates = run.protocol != "paper"
  analysis_split = "validation" if validates else "test"  # reporting, never selection

  graphdef, params, stats = step_lib.split_model(run.model)
  state = step_lib.TrainState(jnp.int32(0), params, stats, run.tx.init(params))
  rep = parallel.replicated(mesh)
  state = jax.device_put(state, rep)

  step_fn = step_lib.make_train_step(
    graphdef,
    run.tx,
    run.loss_fn,
    metrics_fn=run.metrics_fn,
    target=run.target,
    fixed_p=run.fixed_p,
    compute_dtype=run.compute_dtype,
  )
  options = _backend.compiler_options()
  train_step = jax.jit(
    step_fn, out_shardings=(rep, rep), donate_argnums=0, compiler_options=options
  )
  eval_step = jax.jit(
    step_lib.make_eval_step(
      graphdef, score_fn=run.score_fn, target=run.target, compute_dtype=run.compute_dtype
    ),
    out_shardings=rep,
    compiler_options=options,
  )
  key = jax.random.key(run.seed)

  ckpt = ckpt_lib.Checkpointer(workdir)
  start_step = 0
  history: list[dict[str, float]] = []
  found, restored = ckpt.restore_latest({"state": state})
  if found is not None:
    state = jax.device_put(restored["state"], rep)
    start_step = int(state.step)
    history = reporting.read_history(workdir, up_to_step=start_step)
    if writes:
      print(f"Resuming from step {start_step} ({ckpt.path})", file=sys.stderr)

  writer = reporting.MetricWriter(workdir) if writes else None
  bar = (
    reporting.ProgressBar(total_steps, start=start_step, every=run.log_every) if writes else None
  )

  def evaluate(split: str, p: float) -> dict[str, float]:
    sums: dict[str, float] = {}
    for batch in eval_batches(split, run.batch_size):
      local = parallel.shard_batch(batch, mesh, run.batch_size)
      out = jax.device_get(eval_step(state, local, key, jnp.float32(p)))
      for k, v in out.items():
        sums[k] = sums.get(k, 0.0) + float(v)
    if "count" not in sums:
      raise ValueError(f"{getattr(dataset, 'name', 'dataset')}: the {split!r} split is empty")
    n = max(sums.pop("count"), 1.0)
    return step_lib.precision_recall_f1({f"{split}_{k}": v / n for k, v in sums.items()})

  pending = None  # metrics of the previous step, read one step late (no host sync per step)
  last_good = start_step
  train_sums = reporting.read_partial_epoch(workdir, start_step) if start_step else {}

  def consume(step_done: int, metrics) -> None:
    m = dict(jax.device_get(metrics))
    finite = np.asarray(m.pop("finite", np.ones(len(step_lib.FINITE_CHECKS))))
    if not np.isfinite(m["loss"]) or not finite.all():
      bad = [n for n, ok in zip(step_lib.FINITE_CHECKS, finite) if not ok] or ["loss"]
      kept = (
        f"The last good checkpoint (step {last_good}) is kept in {ckpt.path}."
        if ckpt.latest_step() is not None
        else "No checkpoint had been written yet."
      )
      raise FloatingPointError(
        f"non-finite {', '.join(bad)} at step {step_done} (loss {m['loss']}); stopping. {kept}"
      )
    for k, v in m.items():
      train_sums[k] = train_sums.get(k, 0.0) + float(v)
    train_sums["_n"] = train_sums.get("_n", 0.0) + 1
    if bar is not None:
      shown = {k: v for k, v in m.items() if k != "grad_norm"}
      bar.update(step_done, " ".join(f"{k} {float(v):.4f}" for k, v in shown.items()))

  def device_batch(s: int):
    epoch, index = divmod(s, steps_per_epoch)
    batch = train_batch(seed=run.seed, epoch=epoch, index=index, batch_size=run.batch_size)
    return parallel.shard_batch(batch, mesh, run.batch_size)

  # the next batches are read, augmented and put on the devices while a step runs
  batches = parallel.Prefetcher(
    device_batch, start=start_step, stop=total_steps, depth=run.prefetch
  )
  waited_at_epoch_start = 0.0
  step = start_step
  try:
    with preemption.Preemption(run.preemption_signals, interrupt=run.interrupt) as stopper:
      while step < total_steps:
        epoch = step // steps_per_epoch
        p = run.p_of_epoch(epoch)
        new_state, metrics = train_step(state, batches.get(step), key, jnp.float32(p))
        if pending is not None:
          consume(*pending)
        state, pending = new_state, (step + 1, metrics)
        step += 1
        if step % steps_per_epoch == 0 or step == total_steps:
          consume(*pending)
          pending = None
          n = train_sums.pop("_n", 1.0)
          rec = {f"train_{k}": v / n for k, v in train_sums.items()}
          train_sums.clear()
          if validates:
            rec.update(evaluate("validation", p))
          rec["epoch"] = epoch + 1
          rec["p"] = p
          # the time a step waited for its batch (≈ 0 when the input pipeline keeps up)
          steps_done = step - max(epoch * steps_per_epoch, start_step)
          rec["data_wait_ms"] = 1e3 * (batches.waited - waited_at_epoch_start) / max(steps_done, 1)
          waited_at_epoch_start = batches.waited
          rec["learning_rate"] = float(run.lr_schedule(step))
          rec.update({f"width/{k}": v for k, v in step_lib.widths(state.params).items()})
          if run.analysis_examples and writes:
            rec.update(
              epoch_analysis(
                graphdef, state, dataset, run.analysis_examples, key, p, analysis_split
              )
            )
          history.append(rec)
          if writes:
            writer.write(step, rec)
            val = (
              f"val SNN {score} {rec[f'validation_snn_{score}']:.4f} "
              f"noisy {rec[f'validation_noisy_{score}']:.4f} "
              if validates
              else ""
            )
            bar.write(
              f"epoch {epoch + 1}/{num_epochs} step {step}: loss {rec['train_loss']:.4f} {val}"
              f"p {p:.3f}"
            )
          ckpt.save(step, {"state": state})
          last_good = step
        if stopper.reached(step):
          if pending is not None:
            consume(*pending)
            pending = None
          if last_good != step:
            if writes:
              reporting.write_partial_epoch(workdir, step, train_sums)
            ckpt.save(step, {"state": state})
          ckpt.close()
          raise preemption.Preempted(step, ckpt.path, stopper.received or "SIGTERM")
  finally:
    batches.close()
    if writer is not None:
      writer.close()
    if bar is not None:
      bar.close()
    ckpt.close()  # waits for a save in flight, so no thread outlives an interrupted run

  p_final = run.p_of_epoch(max(num_epochs - 1, 0))
  test = evaluate("test", p_final)
  last = history[-1] if history else {}
  summary = {
    f"test_snn_{score}": test[f"test_snn_{score}"],
    f"test_noisy_{score}": test[f"test_noisy_{score}"],
    **(
      {f"val_snn_{score}": last.get(f"validation_snn_{score}", float("nan"))} if validates else {}
    ),
    "final_train_loss": last.get("train_loss", float("nan")),
    "protocol": run.protocol,
    "steps": int(step),
    "epochs": num_epochs,
    "wall_seconds": time.perf_counter() - t_start,
    "num_devices": n_dev,
    # whether malloc ran with transparent huge pages (asgl_jax.cpu.hugepages): wall time only
    "host_hugepages": _backend.hugepages_active(),
    "num_classes": dataset.num_classes,
    "method": run.method,
    "num_params": models.count_params(run.model),
    "widths": step_lib.widths(state.params),
    **{
      k: v
      for k, v in test.items()
      if k.rsplit("_", 1)[-1] in ("precision", "recall", "f1") and "/" not in k
    },
    "test_firing_rates": {
      k[len("test_rate/") :]: v for k, v in test.items() if k.startswith("test_rate/")
    },
  }
  ckpt.close()
  if writes:
    if run.analysis_examples:
      final_analysis(
        graphdef,
        state,
        dataset,
        run.analysis_examples,
        key,
        p_final,
        workdir,
        summary,
        analysis_split,
        run.energy_examples,
      )
    with open(os.path.join(workdir, "summary.json"), "w") as f:
      json.dump(summary, f, indent=2)
    try:
      reporting.plot_history(history, os.path.join(workdir, "curves.png"), score=score)
    except ImportError:
      pass
  summary["final_state"] = state
  summary["history"] = history
  return summary


def _row_readers(dataset, rows: slice):
  """``train_batch`` and ``eval_batches`` of ``dataset`` that return this process's ``rows``.

  A dataset whose methods take no ``rows`` argument builds the whole global batch, from which
  the rows are cut (correct, but every process then reads and augments every example)."""

  def takes_rows(fn) -> bool:
    return "rows" in inspect.signature(fn).parameters

  if takes_rows(dataset.train_batch):
    train = functools.partial(dataset.train_batch, rows=rows)
  else:

    def train(**kw):
      return {k: v[rows] for k, v in dataset.train_batch(**kw).items()}

  if takes_rows(dataset.eval_batches):
    evals = functools.partial(dataset.eval_batches, rows=rows)
  else:

    def evals(split, batch_size):
      for b in dataset.eval_batches(split, batch_size):
        yield {k: v[rows] for k, v in b.items()}

  return train, evals


def _analysis_batch(dataset, n: int, split: str):
  batch = next(dataset.eval_batches(split, n))
  return jnp.asarray(batch["image"][: int(batch["mask"].sum())])


def epoch_analysis(
  graphdef, state, dataset, num_examples: int, key, p, split: str = "validation"
) -> dict[str, float]:
  """Per-layer smoothing error, dead fraction and noisy-vs-SNN similarity (pooled, and as the
  paper defines them: :func:`asgl_jax.analysis.paper_metrics`) on the first
  ``num_examples`` examples of ``split`` (logged every epoch; the test split under the paper's
  protocol, which has no validation: a report, never a selection)."""
  from asgl_jax import analysis

  model = step_lib.merge_model(
    graphdef, jax.device_get(state.params), jax.device_get(state.batch_stats)
  )
  x = _analysis_batch(dataset, num_examples, split)
  keys = step_lib.example_keys(key, jnp.int32(0), x.shape[0])
  stats = analysis.spike_statistics(model, x)
  sim = analysis.noisy_snn_similarity(model, x, key=keys, p=p)
  paper = analysis.paper_metrics(model, x, key=keys, p=p)
  out = {
    "similarity_S/mean": paper["similarity"]["mean"],  # Fig. 3e: per example, over layers
    "similarity_S/std": paper["similarity"]["std"],
  }
  for layer, st in stats.items():
    out[f"smoothing_error/{layer}"] = st["smoothing_error"]
    out[f"dead_fraction/{layer}"] = st["dead_fraction"]
    out[f"noisy_snn_cosine/{layer}"] = sim[layer]
    out[f"dead_fraction_fig6a/{layer}"] = paper["dead_fraction"][layer]
    out[f"smoothing_error_fig6b/{layer}"] = paper["smoothing_error"][layer]
  return out


def final_analysis(
  graphdef,
  state,
  dataset,
  num_examples: int,
  key,
  p,
  workdir,
  summary,
  split="validation",
  energy_examples: int = 0,
) -> None:
  """Writes ``analysis.json`` and ``analysis.png``: spike statistics of the first
  ``num_examples`` examples of ``split``, and the energy (App. B.2) over its first
  ``energy_examples`` (the paper's 1,024; in chunks of ``num_examples``; 0: the same
  ``num_examples``)."""
  from asgl_jax import analysis

  model = step_lib.merge_model(
    graphdef, jax.device_get(state.params), jax.device_get(state.batch_stats)
  )
  x = _analysis_batch(dataset, num_examples, split)
  res = analysis.analyze(model, x, key=step_lib.example_keys(key, jnp.int32(0), x.shape[0]), p=p)
  if energy_examples > num_examples:

    def chunks():
      left = energy_examples
      for b in dataset.eval_batches(split, num_examples):
        n = min(int(b["mask"].sum()), left)
        if n <= 0:
          return
        yield jnp.asarray(b["image"][:n])
        left -= n

    res["energy"] = analysis.mean_synaptic_operations(model, chunks())
  analysis.write_analysis(res, os.path.join(workdir, "analysis.json"))
  summary["energy_ratio"] = res["energy"]["energy_ratio"]
  summary["energy_examples"] = int(res["energy"].get("examples", x.shape[0]))
  try:
    analysis.plot_analysis(res, os.path.join(workdir, "analysis.png"))
  except ImportError:
    pass
