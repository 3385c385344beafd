"""CIFAR-style spiking ResNets (ResNet-18, ResNet-19) as in the released code."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from asgl_jax.models import common

Array = jax.Array


def _scaled(spikes: Array, amplitude: float) -> Array:
  return spikes if amplitude == 1.0 else amplitude * spikes


class BasicBlock(nnx.Module):
  """conv-BN-LIF-conv-BN + shortcut (1×1 conv + BN when the shape changes), LIF after the sum.
  Both LIFs output ``amplitude · s``; the identity shortcut adds the block input as it is."""

  def __init__(self, cin, cout, stride, *, neuron, time_steps, bn, rngs, amplitude=1.0):
    self.amplitude = float(amplitude)
    self.conv1 = common.ConvBN(
      cin, cout, stride=stride, bn=bn, threshold=neuron.threshold, rngs=rngs
    )
    self.lif1 = neuron.lif(cout, time_steps)
    self.conv2 = common.ConvBN(cout, cout, bn=bn, threshold=neuron.threshold, rngs=rngs)
    self.shortcut = (
      common.ConvBN(
        cin, cout, kernel_size=1, stride=stride, bn=bn, threshold=neuron.threshold, rngs=rngs
      )
      if stride != 1 or cin != cout
      else None
    )
    self.lif2 = neuron.lif(cout, time_steps)

  def __call__(self, x, *, key0, key1, p, train):
    a = self.amplitude
    h = _scaled(self.lif1(self.conv1(x, train=train), key=key0, p=p, train=train), a)
    h = self.conv2(h, train=train)
    sc = x if self.shortcut is None else self.shortcut(x, train=train)
    return _scaled(self.lif2(h + sc, key=key1, p=p, train=train), a)


class SpikingResNet(nnx.Module):
  """Spiking ResNet for 32×32 images: 3×3 stem (no max-pool), stages of basic blocks,
  global average pool, optional Dense-LIF head layers, linear readout at every step.

  Args:
    stem: stem channels.
    stages: ``(channels, num_blocks)`` per stage; stages after the first downsample by 2.
    head: hidden sizes of Dense-LIF layers before the readout (ResNet-19: ``(256,)``).
    spike_amplitude: every LIF layer outputs ``spike_amplitude · s`` (its mixed output in
      training). Into a conv + BN this changes nothing (BN removes the scale) and into a dense
      layer it only rescales the weights, but the identity shortcut adds it unweighted: the
      released code outputs ``θ · s``, i.e. ``spike_amplitude = threshold`` (0.5 in its
      CIFAR-10 runs: a skip path half as strong, relative to the threshold, as with 1).

  Other arguments as :class:`~asgl_jax.models.convnets.SpikingConvNet`.
  """

  def __init__(
    self,
    *,
    stem: int,
    stages: Sequence[tuple[int, int]],
    num_classes: int,
    time_steps: int,
    rngs: nnx.Rngs,
    head: Sequence[int] = (),
    in_channels: int = 3,
    neuron=None,
    bn: str = "bn",
    spike_amplitude: float = 1.0,
  ):
    neuron = common.NeuronConfig.from_any(neuron)
    if not (isinstance(spike_amplitude, int | float) and spike_amplitude > 0):
      raise ValueError(f"SpikingResNet: spike_amplitude must be > 0, got {spike_amplitude!r}")
    self.spike_amplitude = a = float(spike_amplitude)
    self.time_steps = time_steps
    self.stem = common.ConvBN(in_channels, stem, bn=bn, threshold=neuron.threshold, rngs=rngs)
    self.stem_lif = neuron.lif(stem, time_steps)
    blocks, c = [], stem
    for i, (cout, n) in enumerate(stages):
      for j in range(n):
        stride = 2 if (i > 0 and j == 0) else 1
        blocks.append(
          BasicBlock(
            c, cout, stride, neuron=neuron, time_steps=time_steps, bn=bn, rngs=rngs, amplitude=a
          )
        )
        c = cout
    self.blocks = nnx.List(blocks)
    dense, lifs = [], []
    for h in head:
      dense.append(nnx.Linear(c, h, rngs=rngs))
      lifs.append(neuron.lif(h, time_steps))
      c = h
    self.head_dense = nnx.List(dense)
    self.head_lifs = nnx.List(lifs)
    self.fc = nnx.Linear(c, num_classes, rngs=rngs)

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Outputs ``[T, B, num_classes]`` for images ``[B, 32, 32, C]``."""
    if x.ndim != 4:
      raise ValueError(f"expected [B, H, W, C] images, got shape {x.shape}")
    t = self.time_steps
    h = common.repeat_time(self.stem(x, train=train), t)  # exact: computed once for all steps
    a = self.spike_amplitude
    h = _scaled(self.stem_lif(h, key=common.layer_key(key, 0), p=p, train=train), a)
    layer = 1
    for block in self.blocks:
      h = block(
        h,
        key0=common.layer_key(key, layer),
        key1=common.layer_key(key, layer + 1),
        p=p,
        train=train,
      )
      layer += 2
    h = jnp.mean(h, axis=(1, 2))
    for dense, lif in zip(self.head_dense, self.head_lifs):
      h = _scaled(lif(dense(h), key=common.layer_key(key, layer), p=p, train=train), a)
      layer += 1
    out = self.fc(h)
    return out.reshape((t, -1, out.shape[-1]))


def resnet18(*, num_classes=10, time_steps=2, rngs, **kw) -> SpikingResNet:
  """ResNet-18 (CIFAR style): 3×3/64 stem, stages [2, 2, 2, 2] of 64/128/256/512.

  11.17 M parameters for 10 classes, 11.22 M for 100.
  """
  return SpikingResNet(
    stem=64,
    stages=((64, 2), (128, 2), (256, 2), (512, 2)),
    num_classes=num_classes,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def resnet19(*, num_classes=10, time_steps=3, rngs, **kw) -> SpikingResNet:
  """ResNet-19: 128-channel stem, stages 128/256/512 with [3, 3, 2] blocks, head 512→256-LIF→classes.

  12.70 M parameters for 10 classes.
  """
  return SpikingResNet(
    stem=128,
    stages=((128, 3), (256, 3), (512, 2)),
    head=(256,),
    num_classes=num_classes,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def resnet_tiny(*, num_classes=10, time_steps=2, rngs, **kw) -> SpikingResNet:
  """A two-stage, 8/16-channel ResNet for tests."""
  return SpikingResNet(
    stem=8,
    stages=((8, 1), (16, 1)),
    num_classes=num_classes,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )
