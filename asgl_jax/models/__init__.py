"""Model zoo, found by name from configs: ``get_model(name, num_classes=..., time_steps=..., rngs=...)``."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flax import nnx

from asgl_jax.models.common import NeuronConfig, count_params, time_mean
from asgl_jax.models.convnets import (
  SpikingConvNet,
  cifarnet,
  dvs_gesture_net,
  mnist_cnn,
  vgg13,
  vgg19,
  vggsnn,
)
from asgl_jax.models.mlp import SpikingCLIFNet, SpikingMLP, SpikingRNN
from asgl_jax.models.resnet import SpikingResNet, resnet18, resnet19, resnet_tiny

_MODELS: dict[str, Callable[..., nnx.Module]] = {
  "cifarnet": cifarnet,
  "resnet18": resnet18,
  "resnet19": resnet19,
  "vggsnn": vggsnn,
  "vgg13": vgg13,
  "vgg19": vgg19,
  "dvs_gesture_net": dvs_gesture_net,
  "mnist_cnn": mnist_cnn,
  "mlp": SpikingMLP,
  "convnet": SpikingConvNet,
  "rsnn": SpikingRNN,
  "clif_net": SpikingCLIFNet,
  # tiny variants for tests
  "resnet_tiny": resnet_tiny,
  "cnn_tiny": functools.partial(mnist_cnn, channels=(4, 8)),
  "dvs_tiny": functools.partial(vggsnn, spec=(4, "A", 8, "A"), batch_major=True),
}


def available_models() -> tuple[str, ...]:
  return tuple(sorted(_MODELS))


def get_model(name: str, **kwargs) -> nnx.Module:
  """Builds model ``name`` with keyword arguments (``num_classes``, ``time_steps``, ``rngs``, ...)."""
  try:
    factory = _MODELS[name]
  except KeyError:
    raise ValueError(
      f"unknown model {name!r}; valid names: {', '.join(available_models())}"
    ) from None
  return factory(**kwargs)


__all__ = [
  "NeuronConfig",
  "SpikingCLIFNet",
  "SpikingConvNet",
  "SpikingMLP",
  "SpikingRNN",
  "SpikingResNet",
  "available_models",
  "count_params",
  "get_model",
  "time_mean",
]
