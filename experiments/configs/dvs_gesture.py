"""DVS128 Gesture with the 8-layer SNN, T = 60 slices of 25 ms (paper Table 10, App. B.4).

Command:
  python -m experiments.dvs_gesture --config=experiments/configs/dvs_gesture.py \
      --config.dataset.data_dir=DIR
Paper (embedded SNN, test): 97.90 %.
Settings: PLIF's DVS-Gesture network (five conv128-BN-LIF-maxpool blocks, FC512-LIF, linear
readout) on 128×128 frames; each training clip is 60 consecutive 25 ms frames from a random
start (RCS); p = 0.8 constant and 300 epochs (Table 7); Adam 1e-3 cosine, batch 16 (the paper
does not state them; PLIF's values). Evaluation sees the first 60 frames (1.5 s) of each
sample, of the ~6 s recorded: the paper does not say how it evaluates; this is our choice.
Split: the paper's random 9:1 split of all samples (1,208 / 134) by default;
dataset.split=official uses the dataset's own subject split (trials_to_train/test.txt).
Data: DvsGesture.tar.gz (manual download from IBM) or its extracted folder in data_dir, or
dataset.source=tonic (pip install asgl_jax[events]) to use tonic's auto-downloaded copy.
Memory: T = 60 frames at 128×128 is large. Measured on a CPU (benchmarks/full_scale_smoke.py):
two training steps at batch 1 peak at 7.6 GiB of host memory, and at batch 4 XLA asks for one
28.9 GB buffer, i.e. roughly 7 GB per example: expect on the order of 110 GB at B = 16 (not yet
measured on an accelerator). On a smaller device set neuron.remat=True, or
dataset.frame_size=64 (model.kwargs.input_size=64 to match).
"""

import ml_collections

from asgl_jax.configs import base


def get_config():
  c = base.get_config()
  c.model.name = "dvs_gesture_net"
  c.model.kwargs = ml_collections.ConfigDict({"input_size": 128})
  c.time_steps = 60
  c.noise.p0, c.noise.zeta, c.noise.milestones = 0.8, 1.0, ()
  c.optimizer = "adam"
  c.learning_rate = 1e-3
  c.weight_decay = 0.0
  c.batch_size = 16
  c.num_epochs = 300
  c.dataset = ml_collections.ConfigDict(
    {
      "name": "dvs_gesture",
      "data_dir": "",
      "frame_ms": 25.0,
      "frame_size": 128,
      "split": "paper",
      "source": "official",
      "validation_fraction": 0.1,
    }
  )
  return c
