"""Fields shared by every experiment config; variants override only what differs.

Every config module defines ``get_config()``; the mains load it with
``config_flags.DEFINE_config_file(..., lock_config=True)``, so
``--config.some.field=value`` overrides work and a misspelt field is an error.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # "heldout": part of the training set is held out, validated every epoch (never the test
  # set). "paper": train on the whole training set, no validation at all, report the
  # final-epoch test score (comparable with the paper's tables).
  c.protocol = "heldout"
  # "asgl": p from the noise schedule, widths learned. "sg": p = 1, widths frozen
  # (plain surrogate-gradient learning, the paper's baseline).
  c.method = "asgl"
  c.model = ml_collections.ConfigDict({"name": "resnet18", "kwargs": ml_collections.ConfigDict()})
  c.time_steps = 2
  # LIF layers (DESIGN §1): initial width, forwarding function, decay γ, threshold ϑ.
  c.neuron = ml_collections.ConfigDict(
    {
      "alpha": 1.0,
      # False: widths stay at alpha (Table 3's "fixed" columns); method=sg implies it.
      "learn_alpha": True,
      "surrogate": "rect",
      "decay": 0.5,
      "learn_decay": False,
      "threshold": 1.0,
      "per_channel_width": False,
      "detach_reset": False,
      "remat": False,
      # "log": learn log α (default); "sharpness": learn a = 1/α (the released code's).
      "width_param": "log",
    }
  )
  # Noise (spike-mode) probability p: p0, then at each milestone epoch p ← 1 − (1 − p)·ζ
  # (Table 7), or p ← p + increment when increment > 0 (Fig. 3a's additive ramp).
  # NB: the released code's --p is the analog probability 1 − p.
  c.noise = ml_collections.ConfigDict({"p0": 0.8, "zeta": 1.0, "milestones": (), "increment": 0.0})
  # "classify" (labels, accuracy), "classify_f1" (also macro precision / recall / F1) or
  # "reconstruct" (the input is the target, PSNR).
  c.task = "classify"
  c.loss = "ce"  # or "tet"; "mse" to reconstruct
  # Weights: SGD(0.9), lr 0.1, cosine to 0, weight decay on kernels only.
  c.optimizer = "sgd"
  c.learning_rate = 0.1
  c.momentum = 0.9
  c.weight_decay = 5e-4
  c.lr_schedule = "cosine"
  c.warmup_steps = 0
  # Widths and decays: their own Adam, constant lr, no weight decay.
  c.spiking_lr = 3e-4
  c.batch_size = 128
  c.num_epochs = 300
  c.num_train_steps = -1  # -1: num_epochs × steps per epoch
  c.num_devices = 0  # 0: all devices
  # Several processes (jax.distributed): coordinator "host:port", process count and id; empty /
  # -1 lets JAX detect them (TPU pods, SLURM, Open MPI) or read ASGL_JAX_COORDINATOR,
  # ASGL_JAX_NUM_PROCESSES and ASGL_JAX_PROCESS_ID.
  c.distributed = False
  c.coordinator_address = ""
  c.num_processes = -1
  c.process_id = -1
  # On these signals (one process) the run saves a checkpoint and exits with status 75.
  c.preemption_signals = ("SIGTERM",)
  # The first Ctrl-C finishes the step, saves a checkpoint and stops (exit 130); a second one
  # stops at once. Rerunning the command resumes.
  c.checkpoint_on_interrupt = True
  # "bfloat16": mixed precision (weights and activations in bf16 for the forward and backward
  # pass; parameters, optimizer state, widths, BN statistics and the loss in float32). The
  # paper's runs were float32, so every config is; bf16 is for GPUs and TPUs.
  c.dtype = "float32"
  # Training batches prepared ahead (read, augmented, put on the devices) while a step runs;
  # each epoch logs data_wait_ms, the time a step waited for its batch. 0: on demand.
  c.prefetch = 2
  c.log_every = 50
  # Validation examples for the per-epoch analysis (smoothing error, dead neurons,
  # noisy-vs-SNN similarity) and the final analysis.json/png with energy (0: off).
  c.analysis_examples = 256
  # Examples of the final energy estimate (App. B.2 uses 1,024), in chunks of analysis_examples.
  c.energy_examples = 1024
  # Write the trained embedded SNN as a NIR graph (<workdir>/model.nir); dt = the time step in NIR units.
  c.export_nir = False
  c.nir_dt = 1e-4  # the step snnTorch assumes on import (docs/nir.md)
  c.dataset = ml_collections.ConfigDict({"name": "cifar10", "data_dir": "", "augment": True})
  return c
