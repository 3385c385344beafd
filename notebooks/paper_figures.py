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
# # Paper figures at small scale
#
# The width-robustness ablation (paper Table 2), the noise-probability study (§5.4, Fig. 3a–c)
# and the layer analysis (Fig. 4, 6, App. B.2) on the bundled MNIST subset. With the defaults
# below each study takes a few minutes on a CPU; the full-scale configs are in
# `experiments/configs/` (`cifar10_resnet19_t3_width.py`, ...).

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
num_epochs = 3  # the noise study
ablation_epochs = 15  # the width ablation (docs/ablations.md's table)
num_train_steps = -1  # > 0 overrides num_epochs (the tests use a few steps)
widths = (0.5, 1.0, 2.5, 5.0, 10.0)
fixed_p = (0.0, 0.5, 0.8, 1.0)
workdir = "runs/paper_figures"

# %%
import os

from IPython.display import Image, Markdown, display

from asgl_jax.configs import ablate_width_mnist, noise_study_mnist
from asgl_jax.train import builder, sweeps

# %% [markdown]
# ## Width robustness: SG against ASGL for each initial width

# %%
config = ablate_width_mnist.get_config()
config.num_epochs = ablation_epochs
config.num_train_steps = num_train_steps
config.ablation.widths = tuple(widths)
dataset = builder.load_dataset(config)
abl_dir = os.path.join(workdir, "ablate_width")
os.makedirs(abl_dir, exist_ok=True)
records = sweeps.run_ablation(
  config, abl_dir, dataset, methods=config.ablation.methods, widths=config.ablation.widths
)
display(Markdown(sweeps.write_ablation_report(records, abl_dir)))
display(Image(os.path.join(abl_dir, "ablation.png")))

# %% [markdown]
# ## Noise probability: fixed p against p raised during training

# %%
config = noise_study_mnist.get_config()
config.num_epochs = num_epochs
config.num_train_steps = num_train_steps
config.study.fixed_p = tuple(fixed_p)
config.study.schedule.milestones = tuple(range(1, num_epochs))
noise_dir = os.path.join(workdir, "noise_study")
os.makedirs(noise_dir, exist_ok=True)
schedule = config.study.schedule
results = sweeps.run_noise_study(
  config,
  noise_dir,
  dataset,
  fixed_p=config.study.fixed_p,
  schedule=(schedule.p0, schedule.zeta, schedule.milestones),
)
display(Markdown(sweeps.write_noise_report(results, noise_dir)))
display(Image(os.path.join(noise_dir, "noise_study.png")))

# %% [markdown]
# ## Layer analysis of one trained network
#
# Firing rate, dead neurons, smoothing error 1 − cos(H_α(u), Θ(u)), similarity of the noisy
# network to the embedded SNN, and energy per synaptic layer.

# %%
import jax
import jax.numpy as jnp

from asgl_jax import analysis, train

config = ablate_width_mnist.get_config()
with config.unlocked():
  config.neuron.alpha = float(widths[0])
model = train.restore_model(config, 10, os.path.join(abl_dir, f"asgl_w{widths[0]:g}"))
x = jnp.asarray(next(dataset.eval_batches("test", 256))["image"])
res = analysis.analyze(model, x, key=jax.random.key(0), p=config.noise.p0)
analysis.plot_analysis(res, os.path.join(workdir, "analysis.png"))
display(Image(os.path.join(workdir, "analysis.png")))
print(f"energy SNN/ANN: {100 * res['energy']['energy_ratio']:.2f} %")
