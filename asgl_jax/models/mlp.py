"""Fully connected spiking networks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import jax
from flax import nnx

from asgl_jax import nn
from asgl_jax.models import common

Array = jax.Array


class SpikingMLP(nnx.Module):
  """Dense-LIF hidden layers and a linear readout.

  Static inputs ``[B, ...]`` are flattened and repeated over time (direct
  encoding; the first dense layer runs once); with ``sequence_input`` the
  input is ``[T, B, ...]``.
  """

  def __init__(
    self,
    in_features: int,
    hidden: Sequence[int],
    *,
    num_classes: int,
    time_steps: int,
    rngs: nnx.Rngs,
    neuron=None,
    sequence_input: bool = False,
  ):
    neuron = common.NeuronConfig.from_any(neuron)
    self.time_steps = time_steps
    self.sequence_input = sequence_input
    dims = [in_features, *hidden]
    self.dense = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in itertools.pairwise(dims)])
    self.lifs = nnx.List([neuron.lif(h, time_steps) for h in hidden])
    self.head = nnx.Linear(dims[-1], num_classes, rngs=rngs)

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Outputs ``[T, B, num_classes]``."""
    t = self.time_steps
    if self.sequence_input:
      h, static = x.reshape((x.shape[0] * x.shape[1], -1)), False
    else:
      h, static = x.reshape((x.shape[0], -1)), True
    for i, (dense, lif) in enumerate(zip(self.dense, self.lifs)):
      h = dense(h)
      if static:
        h, static = common.repeat_time(h, t), False
      h = lif(h, key=common.layer_key(key, i), p=p, train=train)
    if static:
      h = common.repeat_time(h, t)
    out = self.head(h)
    return out.reshape((t, -1, out.shape[-1]))


class SpikingRNN(nnx.Module):
  """Recurrent spiking network for spike-train inputs (paper §5.3, App. A.4).

  ``in_features - hidden (recurrent LIF) - num_classes`` linear readout at
  every step; the SHD network of the paper is 700-240-20 (T = 250). Inputs are
  ``[T, B, in_features]``, or ``[B, T, in_features]`` with ``batch_major=True``
  (as datasets store them); any numeric dtype (spike counts) is cast to float32.
  """

  def __init__(
    self,
    in_features: int = 700,
    hidden: int = 240,
    *,
    num_classes: int = 20,
    time_steps: int = 250,
    rngs: nnx.Rngs,
    neuron=None,
    synapse_decay: float = 0.0,
    input_scale: float = 1.0,
    recurrent_scale: float = 0.7071067811865476,
    batch_major: bool = False,
  ):
    neuron = common.NeuronConfig.from_any(neuron)
    self.time_steps = time_steps
    self.batch_major = batch_major
    self.recurrent = neuron.recurrent_lif(
      in_features,
      hidden,
      rngs=rngs,
      synapse_decay=synapse_decay,
      input_scale=input_scale,
      recurrent_scale=recurrent_scale,
    )
    self.head = nnx.Linear(hidden, num_classes, rngs=rngs)

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Outputs ``[T, B, num_classes]``."""
    # Checked and cast here; a batch-major input is transposed after the input projection.
    x = common.sequence_to_time_major(x, self.time_steps, self.batch_major, transpose=False)
    s = self.recurrent(
      x, key=common.layer_key(key, 0), p=p, train=train, batch_major=self.batch_major
    )
    return nn.apply_folded(self.head, s)


class SpikingCLIFNet(nnx.Module):
  """Dense network of C-LIF neurons for spikegram inputs (paper App. A.3, B.4).

  ``in_features - hidden (C-LIF) - num_classes`` with a linear readout at every
  step; the paper's instrument-recognition network is 384-700-10 (T = 500).
  Inputs ``[T, B, in_features]``, or ``[B, T, in_features]`` with ``batch_major``.
  """

  def __init__(
    self,
    in_features: int = 384,
    hidden: int = 700,
    *,
    num_classes: int = 10,
    time_steps: int = 500,
    rngs: nnx.Rngs,
    neuron=None,
    beta_m: float = 0.9,
    beta_s: float = 0.5,
    input_scale: float = 1.0,
    batch_major: bool = False,
  ):
    neuron = common.NeuronConfig.from_any(neuron)
    self.time_steps = time_steps
    self.batch_major = batch_major
    init = nnx.initializers.variance_scaling(input_scale**2, "fan_in", "normal")
    self.dense = nnx.Linear(in_features, hidden, kernel_init=init, rngs=rngs)
    self.clif = nn.CLIF(
      beta_m=beta_m,
      beta_s=beta_s,
      alpha=neuron.alpha,
      num_channels=hidden if neuron.per_channel_width else None,
      learn_alpha=neuron.learn_alpha,
      threshold=neuron.threshold,
      surrogate=neuron.surrogate,
      detach_reset=neuron.detach_reset,
      remat=neuron.remat,
      width_param=neuron.width_param,
    )
    self.head = nnx.Linear(hidden, num_classes, rngs=rngs)

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Outputs ``[T, B, num_classes]``."""
    x = common.sequence_to_time_major(x, self.time_steps, self.batch_major)
    s = self.clif(nn.apply_folded(self.dense, x), key=common.layer_key(key, 0), p=p, train=train)
    return nn.apply_folded(self.head, s)
