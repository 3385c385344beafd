"""Plain (VGG-style) spiking conv nets: CifarNet, VGGSNN, VGG-13 and small CNNs."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from asgl_jax.models import common

Array = jax.Array


class SpikingConvNet(nnx.Module):
  """Conv-BN-LIF stack, optional Dense-LIF hidden layers, and a linear readout.

  Args:
    spec: conv channels in order; ``"A"`` = 2×2 average pool, ``"M"`` = 2×2 max
      pool. Each int is a 3×3 conv (no bias) + BN over ``T·B`` + LIF.
    fc: hidden sizes of Dense(+bias)-LIF layers after flattening.
    num_classes: outputs of the final linear layer (bias, no LIF).
    in_channels, input_size: input image ``[B, input_size, input_size, in_channels]``
      (or ``[T, B, ...]`` when ``sequence_input``).
    time_steps: T.
    neuron: :class:`~asgl_jax.models.common.NeuronConfig` (or a dict).
    bn: ``"bn"`` (BN over T·B) or ``"tdbn"``.
    global_pool: global average pool instead of flattening.
    sequence_input: inputs are event frames ``[T, B, H, W, C]`` (``[B, T, H, W, C]`` if
      ``batch_major``, the layout datasets shard along B) instead of static images; any
      dtype (counts are cast to float32).
    batch_major: see ``sequence_input``.
    head_init_std: initialise the readout's weights from ``N(0, head_init_std²)`` (the
      released VGGSNN uses 0.5) instead of LeCun normal. The readout is the one weighted
      layer no BN follows, so its scale is the init that matters.
    rngs: ``nnx.Rngs``.
  """

  def __init__(
    self,
    spec: Sequence[int | str],
    *,
    num_classes: int,
    in_channels: int,
    input_size: int,
    time_steps: int,
    rngs: nnx.Rngs,
    fc: Sequence[int] = (),
    neuron=None,
    bn: str = "bn",
    global_pool: bool = False,
    sequence_input: bool = False,
    batch_major: bool = False,
    head_init_std: float | None = None,
  ):
    neuron = common.NeuronConfig.from_any(neuron)
    if head_init_std is not None and not head_init_std > 0:
      raise ValueError(f"SpikingConvNet: head_init_std must be > 0, got {head_init_std!r}")
    if time_steps < 1:
      raise ValueError(f"SpikingConvNet: time_steps must be >= 1, got {time_steps}")
    self.spec = tuple(spec)
    self.time_steps = time_steps
    self.sequence_input = sequence_input
    self.batch_major = batch_major
    self.global_pool = global_pool
    convs, lifs = [], []
    c, size = in_channels, input_size
    for item in self.spec:
      if item in ("A", "M"):
        size //= 2
        continue
      if not isinstance(item, int) or item < 1:
        raise ValueError(f"SpikingConvNet: bad spec item {item!r}; use channel counts, 'A' or 'M'")
      convs.append(common.ConvBN(c, item, bn=bn, threshold=neuron.threshold, rngs=rngs))
      lifs.append(neuron.lif(item, time_steps))
      c = item
    if size < 1:
      raise ValueError(
        f"SpikingConvNet: input_size {input_size} is too small for {len(spec)} pools"
      )
    self.convs = nnx.List(convs)
    self.conv_lifs = nnx.List(lifs)
    features = c if global_pool else c * size * size
    dense, dense_lifs = [], []
    for h in fc:
      dense.append(nnx.Linear(features, h, rngs=rngs))
      dense_lifs.append(neuron.lif(h, time_steps))
      features = h
    self.dense = nnx.List(dense)
    self.dense_lifs = nnx.List(dense_lifs)
    init = (
      nnx.initializers.lecun_normal()
      if head_init_std is None
      else nnx.initializers.normal(stddev=head_init_std)
    )
    self.head = nnx.Linear(features, num_classes, kernel_init=init, rngs=rngs)

  def __call__(self, x: Array, *, key=None, p=1.0, train: bool = True) -> Array:
    """Outputs ``[T, B, num_classes]`` for images ``[B, H, W, C]`` (or frame sequences)."""
    t = self.time_steps
    if self.sequence_input:
      if x.ndim != 5 or x.shape[1 if self.batch_major else 0] != t:
        layout = "[B, T, H, W, C]" if self.batch_major else "[T, B, H, W, C]"
        raise ValueError(f"expected {layout} input with T={t}, got shape {x.shape}")
      x = jnp.swapaxes(x, 0, 1) if self.batch_major else x
      h, static = x.astype(jnp.float32).reshape((-1, *x.shape[2:])), False
    else:
      if x.ndim != 4:
        raise ValueError(f"expected [B, H, W, C] images, got shape {x.shape}")
      h, static = x, True
    layer, conv_i = 0, 0
    for item in self.spec:
      if item == "A":
        h = common.avg_pool(h)
      elif item == "M":
        h = common.max_pool(h)
      else:
        h = self.convs[conv_i](h, train=train)
        if static:  # first layer on a static image: computed once, repeated over time
          h, static = common.repeat_time(h, t), False
        h = self.conv_lifs[conv_i](h, key=common.layer_key(key, layer), p=p, train=train)
        conv_i += 1
        layer += 1
    h = jnp.mean(h, axis=(1, 2)) if self.global_pool else h.reshape((h.shape[0], -1))
    for dense, lif in zip(self.dense, self.dense_lifs):
      h = lif(dense(h), key=common.layer_key(key, layer), p=p, train=train)
      layer += 1
    out = self.head(h)
    return out.reshape((t, -1, out.shape[-1]))


CIFARNET_SPEC = (128, 256, "A", 512, "A", 1024, 512)
VGGSNN_SPEC = (64, 128, "A", 256, 256, "A", 512, 512, "A", 512, 512, "A")
VGG13_SPEC = (64, 64, "A", 128, 128, "A", 256, 256, "A", 512, 512, "A", 512, 512, "A")
VGG19_SPEC = (
  64, 64, "A", 128, 128, "A", 256, 256, 256, 256, "A", 512, 512, 512, 512, "A",
  512, 512, 512, 512, "A",
)  # fmt: skip


def cifarnet(*, num_classes=10, time_steps=2, rngs, **kw) -> SpikingConvNet:
  """CifarNet (Wu et al., 2019): 128C3-256C3-AP2-512C3-AP2-1024C3-512C3-FC1024-FC512-FC(classes).

  32×32×3 input; 45.01 M parameters for 10 classes (45.05 M for 100).
  """
  return SpikingConvNet(
    CIFARNET_SPEC,
    fc=(1024, 512),
    num_classes=num_classes,
    in_channels=3,
    input_size=32,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def vggsnn(
  *, num_classes=10, time_steps=10, in_channels=2, input_size=48, spec=VGGSNN_SPEC, rngs, **kw
):
  """VGGSNN (released DVS-CIFAR10 model): 64, 128, AP, 256, 256, AP, 512, 512, AP, 512, 512, AP,
  then one linear 4608→classes on 48×48 two-polarity frames ``[T, B, 48, 48, 2]`` (pass
  ``batch_major=True`` for ``[B, T, ...]``, the dataset layout).

  9.27 M parameters for 10 classes.
  """
  kw.setdefault("sequence_input", True)
  return SpikingConvNet(
    spec,
    num_classes=num_classes,
    in_channels=in_channels,
    input_size=input_size,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def vgg13(*, num_classes=200, time_steps=4, rngs, **kw) -> SpikingConvNet:
  """VGG-13 for Tiny-ImageNet (64×64×3): ten 3×3 conv-BN-LIF layers in five stages of
  64/128/256/512/512 channels with 2×2 average pools, flatten (2×2×512), linear to classes.

  11 weight layers: Simonyan & Zisserman's VGG-13 has the same ten convs and three FC layers;
  the paper names the network but gives no layer list (and no code for it was released), so
  this is our choice. Pass ``fc=(4096, 4096)`` for the two hidden Dense-LIF layers of the
  original (13 weight layers, 25.6 M more parameters for 200 classes).

  9.82 M parameters for 200 classes.
  """
  return SpikingConvNet(
    VGG13_SPEC,
    num_classes=num_classes,
    in_channels=3,
    input_size=64,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def vgg19(*, num_classes=10, time_steps=3, rngs, **kw) -> SpikingConvNet:
  """VGG-19 for CIFAR (32×32×3), the network of the paper's Table 11: sixteen 3×3 conv-BN-LIF
  layers in five stages of 64/128/256/512/512 channels with 2×2 average pools (an SNN has no
  max pooling to export), flatten (1×1×512), linear to classes.

  The paper gives no layer list; this is the usual CIFAR VGG-19 (one classifier layer).

  20.04 M parameters for 10 classes.
  """
  return SpikingConvNet(
    VGG19_SPEC,
    num_classes=num_classes,
    in_channels=3,
    input_size=32,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def dvs_gesture_net(
  *, num_classes=11, time_steps=60, input_size=128, channels=128, hidden=512, rngs, **kw
):
  """The 8-layer DVS128 Gesture SNN of the PLIF paper (Fang et al., 2021), as the ASGL paper
  cites for Table 10: five {3×3 conv(128)-BN-LIF-2×2 max pool} blocks on ``[B, T, 128, 128, 2]``
  frames, FC 2048→512 + LIF, then a linear readout (PLIF's spiking FC-110 + 10-way voting and
  its dropout are replaced by the plain linear readout every model here uses).

  ``input_size`` 128 (native) or 64/32 for downsampled frames (then fewer pools keep ≥ 4×4).
  """
  pools = 5
  while input_size >> pools < 4 and pools > 1:
    pools -= 1
  spec = (channels, "M") * pools
  kw.setdefault("sequence_input", True)
  kw.setdefault("batch_major", True)
  return SpikingConvNet(
    spec,
    fc=(hidden,),
    num_classes=num_classes,
    in_channels=2,
    input_size=input_size,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )


def mnist_cnn(*, num_classes=10, time_steps=2, channels=(32, 64), rngs, **kw) -> SpikingConvNet:
  """Small spiking CNN for MNIST: C3(32)-AP2-C3(64)-AP2-FC(classes) on 28×28×1 (50 k parameters)."""
  c1, c2 = channels
  return SpikingConvNet(
    (c1, "A", c2, "A"),
    num_classes=num_classes,
    in_channels=1,
    input_size=28,
    time_steps=time_steps,
    rngs=rngs,
    **kw,
  )
