"""Instrument recognition with C-LIF neurons, 384-700-10 (paper App. A.3, B.4).

Command:
  python -m experiments.medlydb --config=experiments/configs/medlydb.py --config.dataset.data_dir=DIR
Paper (test F1): 98.59 % on the monophonic stems of 10 MedlyDB instruments (T = 500).
Data: MedlyDB needs a licence, so bring your own spikegrams: DIR/train.npz and DIR/test.npz with
'spikes' [N, 500, 384] and 'labels' [N] (asgl_jax.data.spike_trains.load_spikegrams).
Schedule (Table 7): p0 = 0.5, ζ = 0.9 at epochs 30/70/90/95 of 100.
Scores (task="classify_f1"): accuracy, and the macro-averaged precision, recall and F1 over the
instruments (summary.json: test_snn_f1, ...); the paper does not say how its F1 is averaged.
Hardware: one GPU (not yet timed by this project).
"""

import ml_collections

from asgl_jax.configs import base


def get_config():
  c = base.get_config()
  c.model.name = "clif_net"
  c.model.kwargs = ml_collections.ConfigDict(
    {
      "in_features": 384,
      "hidden": 700,
      "batch_major": True,
      "beta_m": 0.9,
      "beta_s": 0.5,
      "input_scale": 1.0,
    }
  )
  c.time_steps = 500
  c.task = "classify_f1"
  c.noise.p0, c.noise.zeta, c.noise.milestones = 0.5, 0.9, (30, 70, 90, 95)
  c.optimizer = "adam"
  c.learning_rate = 1e-3
  c.weight_decay = 0.0
  c.batch_size = 64
  c.num_epochs = 100
  c.dataset = ml_collections.ConfigDict({"name": "spikegrams", "data_dir": "", "channels": 384})
  return c
