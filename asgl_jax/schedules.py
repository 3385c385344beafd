"""Schedules: the noise (spike-mode) probability of ASGL and learning rates."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import optax


def noise_probability(
  epoch: int, *, p0: float, zeta: float, milestones: Sequence[int] = (), increment: float = 0.0
) -> float:
  """Spike-mode probability at ``epoch`` (paper App. B.1, Table 7; Fig. 3a).

  Starting from ``p0``, at each milestone epoch reached (``epoch >= m``)
  ``p ← 1 − (1 − p)·ζ``, i.e. ``p = 1 − (1 − p0)·ζ^k`` after ``k`` milestones:
  the share of analog activations shrinks by ``ζ`` each time. With ``increment > 0`` the
  schedule is additive instead, as in Fig. 3a (``+0.1`` every 30 epochs):
  ``p = min(1, p0 + k·increment)`` (``ζ`` is then unused).

  Example:
    >>> from asgl_jax.schedules import noise_probability
    >>> noise_probability(95, p0=0.8, zeta=0.9, milestones=(30, 70, 90, 95))
    0.86878
    >>> round(noise_probability(65, p0=0.5, zeta=1.0, milestones=(30, 60, 90), increment=0.1), 6)
    0.7
  """
  if not 0.0 <= p0 <= 1.0:
    raise ValueError(f"noise_probability: p0 must be in [0, 1], got {p0!r}")
  if not 0.0 <= zeta <= 1.0:
    raise ValueError(f"noise_probability: zeta must be in [0, 1], got {zeta!r}")
  if not 0.0 <= increment <= 1.0:
    raise ValueError(f"noise_probability: increment must be in [0, 1], got {increment!r}")
  k = sum(1 for m in milestones if epoch >= m)
  if increment > 0.0:
    return min(1.0, p0 + k * increment)
  return 1.0 - (1.0 - p0) * zeta**k


def make_noise_schedule(
  *, p0: float, zeta: float, milestones: Sequence[int] = (), increment: float = 0.0
) -> Callable[[int], float]:
  """``epoch -> p`` closure of :func:`noise_probability` (validated once)."""
  noise_probability(0, p0=p0, zeta=zeta, milestones=milestones, increment=increment)
  if list(milestones) != sorted(milestones) or any(m < 0 for m in milestones):
    raise ValueError(
      f"make_noise_schedule: milestones must be sorted and >= 0, got {list(milestones)}"
    )
  return lambda epoch: noise_probability(
    epoch, p0=p0, zeta=zeta, milestones=milestones, increment=increment
  )


def make_lr_schedule(kind: str, *, base_lr: float, total_steps: int, warmup_steps: int = 0):
  """Learning-rate schedule: ``"cosine"`` (to 0 over the run, as released) or ``"constant"``."""
  if kind == "constant":
    return optax.constant_schedule(base_lr)
  if kind == "cosine":
    if warmup_steps:
      return optax.warmup_cosine_decay_schedule(
        0.0, base_lr, warmup_steps, max(total_steps, warmup_steps + 1)
      )
    return optax.cosine_decay_schedule(base_lr, max(total_steps, 1))
  raise ValueError(f"make_lr_schedule: kind must be 'cosine' or 'constant', got {kind!r}")
