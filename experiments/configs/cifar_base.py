"""Shared settings of the image-classification configs (CIFAR-10/100, Tiny-ImageNet).

The per-row config files call :func:`make`; each differs only in dataset, model
and T. Settings follow the paper (Table 5, Table 7, App. B.1) and the released
code (REFERENCE.md): 300 epochs, batch 128, SGD(0.9) lr 0.1 cosine, weight decay
5e-4 on kernels, widths by Adam lr 3e-4; AutoAugment + Cutout for CIFAR.

The ResNets output spikes of amplitude ϑ (``model.kwargs.spike_amplitude = threshold``), as
the released model does (its LIF returns ``ϑ · s``): the identity shortcut then adds ``ϑ · s``.
The paper does not say; set ``--config.model.kwargs.spike_amplitude=1.0`` for unit spikes.
CIFAR-100 (sigmoid H) learns the sharpness ``a = 1/α`` as the released code does
(``neuron.width_param = "sharpness"``); the others learn ``log α`` (the default).
"""

from asgl_jax.configs import base

# Table 7 (p0, ζ, milestones) and the forwarding function / threshold / width per dataset.
DATASETS = {
  "cifar10": dict(
    num_classes=10, p0=0.8, zeta=1.0, milestones=(), surrogate="rect", alpha=1.0, threshold=0.5
  ),
  # CIFAR-100: App. B.1 uses Adam, lr 1e-3, while p is raised at the milestones; the
  # released run (76.76 %) instead keeps p = 0.8 with SGD: --config.noise.p0=0.8
  # --config.noise.zeta=1.0 --config.optimizer=sgd --config.learning_rate=0.1.
  "cifar100": dict(
    num_classes=100,
    p0=0.6,
    zeta=0.8,
    milestones=(90, 210, 270, 285),
    surrogate="sigmoid",
    alpha=5.0,
    threshold=1.0,
    optimizer="adam",
    learning_rate=1e-3,
    # The released CIFAR-100 code learns the sigmoid's sharpness a = 1/α (Adam, 3e-4).
    width_param="sharpness",
  ),
  # Tiny-ImageNet: tanh H with initial width 2.5 and decay 0.5 (§5.2).
  "tiny_imagenet": dict(
    num_classes=200, p0=0.9, zeta=1.0, milestones=(), surrogate="tanh", alpha=2.5, threshold=0.5
  ),
}


def make(*, dataset: str, model: str, time_steps: int, num_epochs: int = 300):
  c = base.get_config()
  d = DATASETS[dataset]
  c.model.name = model
  c.time_steps = time_steps
  c.num_epochs = num_epochs
  c.noise.p0, c.noise.zeta, c.noise.milestones = d["p0"], d["zeta"], d["milestones"]
  c.neuron.surrogate, c.neuron.alpha, c.neuron.threshold = (
    d["surrogate"],
    d["alpha"],
    d["threshold"],
  )
  c.neuron.width_param = d.get("width_param", "log")
  if model.startswith("resnet"):
    c.model.kwargs.spike_amplitude = float(d["threshold"])
  c.optimizer = d.get("optimizer", "sgd")
  c.learning_rate = d.get("learning_rate", 0.1)
  c.dataset.name = dataset
  c.dataset.validation_size = 5000 if dataset != "tiny_imagenet" else 10000
  c.dataset.autoaugment = dataset != "tiny_imagenet"
  c.dataset.cutout = 16 if dataset != "tiny_imagenet" else 0
  c.dataset.download = True
  return c
