"""Spiking autoencoder on MNIST (paper App. B.3, Table 8): SG vs ASGL over initial widths.

Command (offline, the 2-core CPU machine; all ten runs in a few minutes):
  python -m experiments.autoencoder --config=experiments/configs/autoencoder_mnist.py
Network 784-128-64-32-64-128-784 (fully connected, LIF hidden layers), T = 8, tanh forwarding
function; the reconstruction is the time-mean of the last layer's output; MSE loss. Held-out
images: the 500 test images of the bundled subset. Paper, Table 8: ASGL at width 0.5 reaches
PSNR 17.75 / SSIM 0.80 (full MNIST). Measured table: docs/ablations.md.

Full MNIST (60,000 / 10,000 through tfds; pip install -e '.[data]'), as in the paper:
  python -m experiments.autoencoder --config=experiments/configs/autoencoder_mnist.py \
      --config.dataset.name=mnist
"""

import ml_collections

from asgl_jax.configs import mnist


def get_config():
  c = mnist.get_config()
  c.task = "reconstruct"
  c.loss = "mse"
  c.model.name = "mlp"
  c.model.kwargs = ml_collections.ConfigDict({"in_features": 784, "hidden": (128, 64, 32, 64, 128)})
  c.time_steps = 8
  c.neuron.surrogate = "tanh"
  c.optimizer = "adam"
  c.learning_rate = 1e-3
  c.lr_schedule = "cosine"
  c.weight_decay = 0.0
  c.batch_size = 64
  c.num_epochs = 40
  c.analysis_examples = 0
  c.dataset.max_shift = 0
  c.autoencoder = ml_collections.ConfigDict(
    {
      "methods": ("sg", "asgl"),
      "widths": (0.1, 0.5, 1.0, 2.5, 5.0),
      "num_samples": 8,
    }
  )
  return c
