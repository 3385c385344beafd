"""Building blocks shared by the model zoo.

Every model maps inputs to per-time-step outputs ``[T, B, classes]``: the
readout of the paper (§3, "Readout and Loss") is their mean over time, and the
TET loss uses them per step. Static images ``[B, H, W, C]`` are fed directly
(direct encoding: the same image at every step); sequences are ``[T, B, ...]``.

Stateless layers (conv, BN, dense, pooling) run once on time folded into the
batch, ``[T·B, ...]``; only the LIF update loops over time. For a static image
the first conv + BN is computed once on ``[B, ...]`` and broadcast over time,
which is exact: ``conv(repeat(x)) = repeat(conv(x))`` and BN statistics over
``T`` identical copies equal those over one.

The mask key of spiking layer ``i`` is ``fold_in(key, i)`` (``key`` may be a
batch of per-example keys, see :func:`asgl_jax.sample_mask`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from asgl_jax import nn, spiking

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class NeuronConfig:
  """Hyperparameters of the LIF layers of a model (DESIGN §1).

  Attributes:
    alpha: initial surrogate width.
    surrogate: forwarding function name.
    decay: leak factor γ (0.5 in the paper).
    learn_decay: learn γ.
    threshold: firing threshold ϑ.
    per_channel_width: one width per channel instead of one per layer.
    learn_alpha: learn the width (ASGL); ``False`` freezes it (SG baseline).
    detach_reset: stop the gradient through the reset.
    remat: ``jax.checkpoint`` the neuron step (long sequences).
    width_param: ``"log"`` (learn ``log α``) or ``"sharpness"`` (learn ``a = 1/α``, the
      released code's parameterisation); see :class:`asgl_jax.nn.LIF`.
  """

  alpha: float = 1.0
  surrogate: str = "rect"
  decay: float = 0.5
  learn_decay: bool = False
  threshold: float = 1.0
  per_channel_width: bool = False
  learn_alpha: bool = True
  detach_reset: bool = False
  remat: bool = False
  width_param: str = "log"

  @classmethod
  def from_any(cls, cfg: Any) -> NeuronConfig:
    if cfg is None:
      return cls()
    if isinstance(cfg, cls):
      return cfg
    cfg = dict(cfg)
    unknown = set(cfg) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
      raise ValueError(
        f"NeuronConfig: unknown field(s) {sorted(unknown)}; valid: "
        f"{[f.name for f in dataclasses.fields(cls)]}"
      )
    return cls(**cfg)

  def lif(self, channels: int, time_steps: int) -> nn.LIF:
    return nn.LIF(
      alpha=self.alpha,
      num_channels=channels if self.per_channel_width else None,
      learn_alpha=self.learn_alpha,
      decay=self.decay,
      learn_decay=self.learn_decay,
      threshold=self.threshold,
      surrogate=self.surrogate,
      detach_reset=self.detach_reset,
      time_steps=time_steps,
      remat=self.remat,
      width_param=self.width_param,
    )

  def recurrent_lif(self, in_features: int, features: int, *, rngs: nnx.Rngs, **kwargs):
    """A :class:`~asgl_jax.nn.RecurrentLIF` with these neuron settings (``kwargs``: its
    ``synapse_decay``, ``input_scale``, ``recurrent_scale``)."""
    return nn.RecurrentLIF(
      in_features,
      features,
      rngs=rngs,
      alpha=self.alpha,
      per_neuron_width=self.per_channel_width,
      learn_alpha=self.learn_alpha,
      decay=self.decay,
      learn_decay=self.learn_decay,
      threshold=self.threshold,
      surrogate=self.surrogate,
      detach_reset=self.detach_reset,
      remat=self.remat,
      width_param=self.width_param,
      **kwargs,
    )


def layer_key(key, index: int):
  """Key of spiking layer ``index`` (``None`` stays ``None``)."""
  return None if key is None else spiking.fold_in(key, index)


def repeat_time(x: Array, time_steps: int) -> Array:
  """``[B, ...] -> [T·B, ...]``: the same input at every step (direct encoding)."""
  return jnp.broadcast_to(x[None], (time_steps, *x.shape)).reshape((-1, *x.shape[1:]))


def sequence_to_time_major(
  x: Array, time_steps: int, batch_major: bool, *, transpose: bool = True
) -> Array:
  """Checks a spike-train input (``[T, B, F]``, or ``[B, T, F]`` if ``batch_major``) and returns
  it time-major unless ``transpose`` is False. Bool and integer spikes (how datasets store
  them) keep their dtype, so that the input projection takes them event-driven
  (:func:`asgl_jax.nn.apply_folded`); floating-point inputs are cast to float32."""
  if x.ndim != 3 or x.shape[1 if batch_major else 0] != time_steps:
    layout = "[B, T, features]" if batch_major else "[T, B, features]"
    raise ValueError(f"expected {layout} input with T={time_steps}, got shape {x.shape}")
  if jnp.issubdtype(x.dtype, jnp.floating):
    x = x.astype(jnp.float32)
  return jnp.swapaxes(x, 0, 1) if batch_major and transpose else x


def avg_pool(x: Array, window: int = 2) -> Array:
  return nnx.avg_pool(x, (window, window), strides=(window, window))


def max_pool(x: Array, window: int = 2) -> Array:
  return nnx.max_pool(x, (window, window), strides=(window, window))


class ConvBN(nnx.Module):
  """k×k conv (no bias, padding k//2) followed by batch norm over ``T·B``."""

  def __init__(
    self,
    in_channels: int,
    out_channels: int,
    *,
    rngs: nnx.Rngs,
    kernel_size: int = 3,
    stride: int = 1,
    bn: str = "bn",
    threshold: float = 1.0,
  ):
    self.conv = nnx.Conv(
      in_channels,
      out_channels,
      (kernel_size, kernel_size),
      strides=stride,
      # Symmetric k//2 padding, as PyTorch's padding=1 in the released code (for stride 2
      # this differs from XLA's "SAME", which pads only the far side).
      padding=((kernel_size // 2, kernel_size // 2),) * 2,
      use_bias=False,
      rngs=rngs,
    )
    self.bn = nn.TimeBatchNorm(out_channels, kind=bn, threshold=threshold, rngs=rngs)

  def __call__(self, x: Array, *, train: bool) -> Array:
    return self.bn(self.conv(x), train=train)


def count_params(model: nnx.Module) -> int:
  """Number of trainable scalars (``nnx.Param``, widths included)."""
  return sum(x.size for x in jax.tree_util.tree_leaves(nnx.state(model, nnx.Param)))


def time_mean(outputs: Array) -> Array:
  """Readout (paper §3): mean over time of the last layer's output ``[T, B, C] -> [B, C]``."""
  return jnp.mean(outputs, axis=0)
