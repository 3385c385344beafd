"""Helpers shared by the benchmark scripts (imported as ``harness`` from this folder)."""

from __future__ import annotations

import statistics
import time


def print_json_lines(rows: list[dict], path: str | None = None) -> None:
  """Prints one JSON line per row and, with ``path``, writes the same lines there."""
  import json

  lines = [json.dumps(r) for r in rows]
  if path:
    with open(path, "w") as f:
      f.write("\n".join(lines) + "\n")
  print("\n".join(lines))


def median_time(fn, args, repeats: int) -> float:
  """Median seconds of ``fn(*args)`` over ``repeats`` calls after one warm-up (compile) call."""
  import jax

  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def interleaved_samples(calls: dict, rounds: int, steps: int, warmup: int) -> dict:
  """Seconds of each blocking ``calls[name]()``, timed in one process, per round.

  Every round runs each call ``warmup`` times untimed and then ``steps`` times timed, name after
  name, so that a shared machine's drift over minutes falls on all variants alike. Returns
  ``{name: [[round 0's times], [round 1's times], ...]}``.
  """
  times = {name: [] for name in calls}
  for _ in range(rounds):
    for name, call in calls.items():
      row = []
      for i in range(warmup + steps):
        t0 = time.perf_counter()
        call()
        if i >= warmup:
          row.append(time.perf_counter() - t0)
      times[name].append(row)
  return times


def interleaved_times(calls: dict, rounds: int, steps: int, warmup: int) -> dict:
  """Median and lower quartile (seconds) of each call over all timed calls of
  :func:`interleaved_samples`: ``{name: (median, lower quartile)}``."""
  samples = interleaved_samples(calls, rounds, steps, warmup)
  return {name: pooled(rows) for name, rows in samples.items()}


def pooled(rows: list) -> tuple[float, float]:
  """Median and lower quartile of all the times in ``rows`` (one list per round)."""
  t = [x for row in rows for x in row]
  return statistics.median(t), statistics.quantiles(t, n=4)[0]


def paired_ratios(samples: dict, base: str) -> dict:
  """Per-round ratios of each variant's median to ``base``'s median in the same round, from
  :func:`interleaved_samples`: ``{name: (median ratio, lower quartile, upper quartile)}``.

  A round's variants ran back to back, so drift between rounds cancels in the ratio.
  """
  out = {}
  for name, rows in samples.items():
    r = [statistics.median(a) / statistics.median(b) for a, b in zip(rows, samples[base])]
    q1, _, q3 = statistics.quantiles(r, n=4) if len(r) > 1 else (r[0], r[0], r[0])
    out[name] = (statistics.median(r), q1, q3)
  return out


def paired_table(samples: dict, base: str) -> list[str]:
  """Markdown table cells ``name | median ms | lower-quartile ms | ratio× | q1–q3 |`` per
  variant of :func:`interleaved_samples`, the ratio being :func:`paired_ratios` to ``base``."""
  ratios = paired_ratios(samples, base)
  rows = []
  for name, times in samples.items():
    med, q1 = pooled(times)
    r, r1, r3 = ratios[name]
    rows.append(f"{name} | {med * 1e3:.1f} | {q1 * 1e3:.1f} | {r:.3f}× | {r1:.3f}–{r3:.3f} |")
  return rows


def asgl_step_call(
  model, loss_fn, p: float, batch, key, compiler_options="library", compute_dtype=None
):
  """A blocking call that runs one asgl_jax training step of ``model`` on ``batch``, as in
  training, and carries the training state from call to call.

  ``compiler_options="library"``: ``train.compiler_options()``, as ``train_and_evaluate``
  compiles it; anything else is passed to ``jax.jit`` as it is (``None``: XLA's defaults).

  SGD with momentum 0.9 on the weights and Adam on the spiking parameters (widths, decays).
  With ``p < 1`` p is traced (a schedule changes it without recompiling); with ``p = 1`` it
  is baked in, as method "sg" does (no mask). ``compute_dtype`` (e.g. ``"bfloat16"``): mixed
  precision, as ``--config.dtype`` trains.
  """
  import jax
  import jax.numpy as jnp
  import optax

  from asgl_jax import train

  graphdef, params, stats = train.split_model(model)
  tx = optax.multi_transform(
    {"weights": optax.sgd(0.1, momentum=0.9), "spiking": optax.adam(1e-3)},
    {"weights": "weights", "spiking": "spiking"},
  )
  fn = train.make_train_step(
    graphdef, tx, loss_fn, compute_dtype=None if compute_dtype is None else jnp.dtype(compute_dtype)
  )
  step = jax.jit(
    lambda s, b, k, q: fn(s, b, k, q if p < 1.0 else 1.0),
    donate_argnums=0,
    compiler_options=(
      train.compiler_options() if compiler_options == "library" else compiler_options
    ),
  )
  holder = [train.TrainState(jnp.int32(0), params, stats, tx.init(params))]
  pj = jnp.float32(p)

  def call():
    holder[0], metrics = step(holder[0], batch, key, pj)
    jax.block_until_ready(metrics)

  return call
