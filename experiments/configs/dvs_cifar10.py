"""DVS-CIFAR10 with VGGSNN and the TET loss, T = 10 (paper Table 1; the released run).

Command:
  python -m experiments.dvs_cifar10 --config=experiments/configs/dvs_cifar10.py \
      [--config.dataset.data_dir=DIR]
Paper (embedded SNN, test): 84.50 % (released run 85.50 %).
Settings (REFERENCE.md, released command line): VGGSNN on 48×48 two-polarity frames, T = 10,
rect H with learnable width 1.0, p = 0.9 constant (released code-p 0.1), TET loss λ = 1e-3,
batch 32, 100 epochs, SGD lr 0.1 cosine, weight decay 1e-3; training augmentation = random
horizontal flip + random ±5 px roll. Split: first 900 recordings of each class train, last 100
test; 10 % of train is held out for validation (set dataset.validation_fraction=0 to train on
all 9,000 and validate on the test split as the released code did).
Data: the ten class zips from figshare (downloaded unless download=False); frames are cached
in data_dir. Hardware: one GPU (not yet timed by this project).
"""

import ml_collections

from asgl_jax.configs import base


def get_config():
  c = base.get_config()
  c.model.name = "vggsnn"
  c.model.kwargs = ml_collections.ConfigDict({"batch_major": True, "input_size": 48})
  c.time_steps = 10
  c.neuron.alpha = 1.0
  c.neuron.surrogate = "rect"
  c.noise = ml_collections.ConfigDict({"p0": 0.9, "zeta": 1.0, "milestones": ()})
  c.loss = "tet"
  c.optimizer = "sgd"
  c.learning_rate = 0.1
  c.weight_decay = 1e-3
  c.batch_size = 32
  c.num_epochs = 100
  c.dataset = ml_collections.ConfigDict(
    {
      "name": "dvs_cifar10",
      "data_dir": "",
      "size": 48,
      "split_by": "number",
      "validation_fraction": 0.1,
      "max_roll": 5,
      "download": True,
    }
  )
  return c
