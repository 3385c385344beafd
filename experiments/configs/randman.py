"""Offline spike-timing task: Randman (Zenke & Vogels, 2021) with the recurrent SNN.

Command (offline, the 2-core CPU machine):
  python -m experiments.shd --config=experiments/configs/randman.py
10 classes of random smooth 1-D manifolds in 100 channels, one spike per channel in T = 100
steps, 1,000 samples per class (70 / 10 / 20 % train / validation / test);
100-128(recurrent LIF)-10, γ = 0.9, rect H, p = 0.8, learned widths, Adam, 15 epochs. One spike per
channel is a sparse drive: the input weights start 10× larger than LeCun's (input_scale) and the
recurrent ones small (recurrent_scale 0.1), else no hidden neuron reaches the threshold.
Result: README (the experiments table), measured on this project's 2-core CPU machine.
"""

import ml_collections

from asgl_jax.configs import base


def get_config():
  c = base.get_config()
  c.model.name = "rsnn"
  c.model.kwargs = ml_collections.ConfigDict(
    {
      "in_features": 100,
      "hidden": 128,
      "batch_major": True,
      "input_scale": 10.0,
      "recurrent_scale": 0.1,
    }
  )
  c.time_steps = 100
  c.neuron.threshold = 1.0
  c.neuron.decay = 0.9  # τ = 10 steps: the task is about spike timing
  c.noise.p0 = 0.8
  c.optimizer = "adam"
  c.learning_rate = 2e-3
  c.weight_decay = 0.0
  c.spiking_lr = 1e-2
  c.batch_size = 64
  c.num_epochs = 15
  c.log_every = 50
  c.analysis_examples = 256
  c.dataset = ml_collections.ConfigDict(
    {
      "name": "randman",
      "num_classes": 10,
      "channels": 100,
      "dim": 1,
      "alpha": 2.0,
      "samples_per_class": 1000,
      "seed": 1,
    }
  )
  return c
