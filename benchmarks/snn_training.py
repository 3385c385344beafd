"""Training-step speed and memory of asgl_jax against PyTorch and JAX SNN libraries.

    python benchmarks/snn_training.py                      # all workloads, all implementations
    python benchmarks/snn_training.py --workloads A64 --impls ours,spyx --repeats 10
    bash benchmarks/run_all.sh                             # makes the venv with the competitors first

Workloads (identical maths in every implementation; see issue #6 and RESULTS.md):
  A64 / A256  SHD-shaped recurrent SNN: Bernoulli(0.02) spikes [T=250, B, 700] -> 240 recurrent
              LIF (decay 0.5, threshold 1, hard reset) -> linear 20, mean over time, CE; one
              training step (forward, BPTT, SGD with momentum 0.9). B = 64 / 256.
  B           CIFAR-shaped conv SNN, B = 32, T = 2 (input repeated): conv3x3(64)-BN-LIF,
              conv3x3(128)-BN-LIF, avgpool2, conv3x3(256)-BN-LIF, avgpool2, conv3x3(256)-BN-LIF,
              global average pool, dense 10; CE on the time-mean logits; SGD step.
  C           Open Neuromorphic benchmark: dense N->N + LIF, B = 16, T = 500, forward + backward
              (N = 16384 on an accelerator; --c-neurons, 2048 by default on a CPU).
  D           ResNet-18 (CIFAR), T = 2, B = 128 (--d-batch), one training step (for a GPU/TPU).

Implementations: ``ours`` (asgl_jax's own layers and train step, ASGL spike p = 0.8 with a
learned width; A and C take the input spikes as bool, as spike datasets store them, so the
input projection is event-driven on CPU: ``asgl_jax.spike_matmul``), ``ours_sg`` (same, p = 1:
plain surrogate gradient, for the mask's cost), ``ours_f32`` (as ``ours`` with the spikes as
float32, which takes the dense matmul like every other implementation),
``jax_scan`` (a straightforward hand-written JAX scan with a stop-gradient spike), ``torch_loop``
(PyTorch, Python loop over time, custom autograd spike, as the authors' code), ``ours_bf16`` and
``torch_loop_bf16`` (B and D in mixed precision: float32 parameters, bfloat16 compute —
``--config.dtype=bfloat16``'s step, and ``torch.autocast``), ``spikingjelly``
(multi-step mode, torch backend), ``snntorch`` and ``spyx`` (A and C); D is implemented for
ours and ``torch_loop``. Missing libraries are reported, not faked.

Every (workload, implementation) pair runs in its own subprocess so peak RSS is its own. Time:
median of ``--repeats`` steps after ``--warmup`` steps (the first of which compiles, for the JAX
ones: reported as compile s), in ``--rounds`` rounds that interleave the implementations; the
table gives the median over rounds and the spread (max − min) / median. Peak RSS is the
process's high-water mark including compilation; step RSS is the high-water mark of the timed
steps alone (reset after warm-up). GFLOP/s counts the dense FLOPs of the workload (matmuls and
convolutions, forward + backward, written out in ``flops()``), compared with a float32 matmul
peak measured by the same script (the better of JAX's and PyTorch's 2048^3 matmul).

On a GPU (``bash benchmarks/gpu_run.sh``) the PyTorch implementations run on ``cuda`` and
synchronise at the end of each step, float32 matrix products and convolutions are full
float32 in both frameworks (no TF32: ``jax_default_matmul_precision="highest"``, PyTorch's
``allow_tf32`` off; cuDNN autotuning on, as XLA autotunes), JAX does not preallocate GPU memory
(so that the worker processes can share the device with the driver process), and the table
adds each run's peak device memory (JAX's allocator statistics, PyTorch's
``max_memory_allocated``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import harness

# Before any JAX import: on a GPU the driver process (matmul peak) and the worker processes
# share the device, and the default preallocation of 75 % of its memory by each would not fit.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

WORKLOADS = ("A64", "A256", "B", "C", "D")
IMPLS = (
  "ours",
  "ours_sg",
  "ours_f32",
  "ours_bf16",
  "jax_scan",
  "torch_loop",
  "torch_loop_bf16",
  "spikingjelly",
  "snntorch",
  "spyx",
)
JAX_IMPLS = ("ours", "ours_sg", "ours_f32", "ours_bf16", "jax_scan", "spyx")
SUPPORTED = {
  "A64": tuple(i for i in IMPLS if not i.endswith("bf16")),
  "A256": tuple(i for i in IMPLS if not i.endswith("bf16")),
  "B": (
    "ours",
    "ours_sg",
    "ours_bf16",
    "torch_loop",
    "torch_loop_bf16",
    "spikingjelly",
    "snntorch",
  ),
  "C": tuple(i for i in IMPLS if not i.endswith("bf16")),
  "D": ("ours", "ours_sg", "ours_bf16", "torch_loop", "torch_loop_bf16"),
}
T_A, IN_A, H_A, OUT_A = 250, 700, 240, 20
T_C, B_C = 500, 16


def shape_of(workload: str, args) -> dict:
  if workload.startswith("A"):
    return {"T": T_A, "B": int(workload[1:])}
  if workload == "B":
    return {"T": 2, "B": 32}
  if workload == "C":
    return {"T": T_C, "B": B_C, "N": args.c_neurons}
  return {"T": 2, "B": args.d_batch}


def flops(workload: str, args) -> float:
  """Dense FLOPs of one training step (2 per multiply-add; backward = 2× forward for every
  weight layer except the first layer's input gradient, which no implementation computes)."""
  s = shape_of(workload, args)
  t, b = s["T"], s["B"]
  if workload.startswith("A"):
    fin, frec, fout = t * b * IN_A * H_A * 2, t * b * H_A * H_A * 2, t * b * H_A * OUT_A * 2
    return 2 * fin + 3 * frec + 3 * fout
  if workload == "C":
    return 2 * t * b * s["N"] ** 2 * 2
  if workload == "B":
    # conv FLOPs per image and step: H·W·Cin·Cout·9·2; the first conv runs once (static input)
    # in ours and every step elsewhere — counted once per step, as all do the others per step.
    convs = [(32, 3, 64), (32, 64, 128), (16, 128, 256), (8, 256, 256)]
    f = sum(hw * hw * ci * co * 9 * 2 for hw, ci, co in convs) + 256 * 10 * 2
    first = 32 * 32 * 3 * 64 * 9 * 2
    return t * b * (3 * f - first)
  # D: ResNet-18 CIFAR forward ≈ 0.556 GFLOP multiply-adds ×2 per image per step.
  return t * b * 3 * 2 * 0.556e9


# ----------------------------------------------------------------------------- JAX: ours


def _host_data(workload, args):
  """The workload's inputs and labels as NumPy arrays, the same for every implementation.

  Spikes (A, C): bool ``[B, T, N]``, Bernoulli(0.02), drawn one example at a time so that
  making them costs no more memory than holding them (a whole-array ``jax.random.uniform``
  peaked at 963 MiB for A256's 45 MB of spikes, which then showed as the JAX rows' peak RSS).
  Images (B, D): float32 ``[B, 32, 32, 3]``, standard normal.
  """
  import numpy as np

  s = shape_of(workload, args)
  rng = np.random.default_rng(0)
  if workload[0] in "AC":
    n = IN_A if workload.startswith("A") else s["N"]
    x = np.empty((s["B"], s["T"], n), bool)
    for i in range(s["B"]):
      x[i] = rng.random((s["T"], n), dtype=np.float32) < 0.02
  else:
    x = rng.standard_normal((s["B"], 32, 32, 3), dtype=np.float32)
  y = rng.integers(0, OUT_A if workload.startswith("A") else 10, s["B"], dtype=np.int32)
  return x, y


def _jax_data(workload, args, spikes_as_bool=False):
  """``_host_data`` on the JAX device: spikes as float32, or as bool (a dataset's storage)."""
  import jax.numpy as jnp

  x, y = _host_data(workload, args)
  x = jnp.asarray(x)
  if x.dtype == jnp.bool_ and not spikes_as_bool:
    x = x.astype(jnp.float32)
  return x, jnp.asarray(y)


def _dense_lif_model(n, t, rngs, neuron):
  """Workload C in asgl_jax layers: Dense(N→N) + LIF, output = spikes (summed for the loss)."""
  from flax import nnx

  from asgl_jax import models, nn

  class DenseLIF(nnx.Module):
    def __init__(self):
      self.dense = nnx.Linear(n, n, rngs=rngs)
      self.lif = models.NeuronConfig.from_any(neuron).lif(n, None)  # input [T, B, N]
      self.time_steps = t

    def __call__(self, x, *, key=None, p=1.0, train=True):
      x = models.common.sequence_to_time_major(x, t, True)
      cur = nn.apply_folded(self.dense, x)
      return self.lif(cur, key=models.common.layer_key(key, 0), p=p, train=train)

  return DenseLIF()


def run_ours(
  workload,
  args,
  p,
  spikes_as_bool=True,
  compiler_options="library",
  surrogate="rect",
  compute_dtype=None,
):
  import jax
  import jax.numpy as jnp
  from flax import nnx

  from asgl_jax import losses, models

  s = shape_of(workload, args)
  neuron = {"decay": 0.5, "threshold": 1.0, "alpha": 1.0, "surrogate": surrogate}
  if p >= 1.0:
    neuron["learn_alpha"] = False
  rngs = nnx.Rngs(0)
  if workload.startswith("A"):
    model = models.SpikingRNN(
      IN_A, H_A, num_classes=OUT_A, time_steps=T_A, rngs=rngs, neuron=neuron, batch_major=True
    )
    loss_fn = losses.cross_entropy
  elif workload == "B":
    model = models.SpikingConvNet(
      (64, 128, "A", 256, "A", 256),
      num_classes=10,
      in_channels=3,
      input_size=32,
      time_steps=2,
      global_pool=True,
      neuron=neuron,
      rngs=rngs,
    )
    loss_fn = losses.cross_entropy
  elif workload == "C":
    model = _dense_lif_model(s["N"], s["T"], rngs, neuron)

    def loss_fn(out, y):
      del y
      return jnp.sum(out)

  else:
    model = models.resnet18(num_classes=10, time_steps=2, rngs=rngs, neuron=neuron)
    loss_fn = losses.cross_entropy
  x, y = _jax_data(workload, args, spikes_as_bool)  # bool: as a spike dataset stores them
  batch = {"image": x, "label": y}
  return harness.asgl_step_call(
    model, loss_fn, p, batch, jax.random.key(1), compiler_options, compute_dtype
  )


def _sgd_steps(loss_fn, params):
  """A ``call()`` doing one jitted SGD(momentum 0.9) step of ``loss_fn`` on ``params``."""
  import jax
  import optax

  tx = optax.sgd(0.1, momentum=0.9)

  @jax.jit
  def train_step(params, opt):
    loss, g = jax.value_and_grad(loss_fn)(params)
    upd, opt = tx.update(g, opt, params)
    return optax.apply_updates(params, upd), opt, loss

  holder = [params, tx.init(params)]

  def call():
    holder[0], holder[1], loss = train_step(*holder)
    jax.block_until_ready(loss)

  return call


def run_jax_scan(workload, args):
  """A straightforward JAX implementation: plain scan, stop-gradient rect surrogate."""
  import jax
  import jax.numpy as jnp
  import optax

  s = shape_of(workload, args)
  x, y = _jax_data(workload, args)
  x = jnp.swapaxes(x, 0, 1)
  k = jax.random.split(jax.random.key(0), 4)

  def spike(u):
    sg = jnp.where(jnp.abs(u) < 0.5, u, 0.0)  # rect, width 1: gradient 1 on |u| < 1/2
    return jax.lax.stop_gradient((u > 0).astype(u.dtype) - sg) + sg

  if workload.startswith("A"):
    params = {
      "w_in": jax.random.normal(k[0], (IN_A, H_A)) / IN_A**0.5,
      "b_in": jnp.zeros(H_A),
      "v": jax.random.normal(k[1], (H_A, H_A)) / H_A**0.5,
      "w_out": jax.random.normal(k[2], (H_A, OUT_A)) / H_A**0.5,
      "b_out": jnp.zeros(OUT_A),
    }

    def loss_fn(params):
      cur = x @ params["w_in"] + params["b_in"]

      def step(carry, c):
        u, sp = carry
        u = 0.5 * u * (1 - sp) + c + sp @ params["v"]
        sp = spike(u - 1.0)
        return (u, sp), sp

      z = jnp.zeros((s["B"], H_A))
      _, spikes = jax.lax.scan(step, (z, z), cur)
      logits = (spikes @ params["w_out"] + params["b_out"]).mean(0)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  else:  # C
    n = s["N"]
    params = {"w": jax.random.normal(k[0], (n, n)) / n**0.5, "b": jnp.zeros(n)}

    def loss_fn(params):
      cur = x @ params["w"] + params["b"]

      def step(u_prev_s, c):
        u, sp = u_prev_s
        u = 0.5 * u * (1 - sp) + c
        sp = spike(u - 1.0)
        return (u, sp), sp

      z = jnp.zeros((s["B"], n))
      _, spikes = jax.lax.scan(step, (z, z), cur)
      return jnp.sum(spikes)

  return _sgd_steps(loss_fn, params)


def run_spyx(workload, args):
  """spyx (Flax NNX): its RLIF/LIF neurons driven by ``spyx.nn.run``; the input projection is
  applied to all steps at once (the fast way). spyx resets by subtraction (no hard reset): the
  same FLOPs and memory pattern as the other implementations."""
  import jax.numpy as jnp
  import optax
  import spyx
  from flax import nnx

  s = shape_of(workload, args)
  x, y = _jax_data(workload, args)
  x = jnp.swapaxes(x, 0, 1)
  rngs = nnx.Rngs(0)
  act = spyx.axn.custom(bwd=lambda u: (jnp.abs(u) < 0.5).astype(u.dtype))
  if workload.startswith("A"):
    w_in = nnx.Linear(IN_A, H_A, rngs=rngs)
    neuron = spyx.nn.RLIF((H_A,), beta=0.5, threshold=1.0, activation=act, rngs=rngs)
    head = nnx.Linear(H_A, OUT_A, rngs=rngs)
    model = nnx.List([w_in, neuron, head])

    def loss_fn(model):
      spikes, _ = spyx.nn.run(model[1], model[0](x))
      logits = model[2](spikes).mean(0)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  else:
    n = s["N"]
    model = nnx.List(
      [
        nnx.Linear(n, n, rngs=rngs),
        spyx.nn.LIF((n,), beta=0.5, threshold=1.0, activation=act, rngs=rngs),
      ]
    )

    def loss_fn(model):
      spikes, _ = spyx.nn.run(model[1], model[0](x))
      return jnp.sum(spikes)

  graphdef, params = nnx.split(model, nnx.Param)
  return _sgd_steps(lambda p: loss_fn(nnx.merge(graphdef, p)), params)


# ----------------------------------------------------------------------------- PyTorch


def _torch_spike():
  import torch

  class RectSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
      ctx.save_for_backward(u)
      return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
      (u,) = ctx.saved_tensors
      return g * (u.abs() < 0.5).to(g.dtype)

  return RectSpike.apply


def _torch_data(workload, args):
  """``_host_data`` as PyTorch tensors: spikes float32 time-major ``[T, B, N]``, images NCHW."""
  import numpy as np
  import torch

  torch.manual_seed(0)
  x, y = _host_data(workload, args)
  if workload[0] in "AC":
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(1, 0, 2))).float()
  else:
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
  y = None if workload == "C" else torch.from_numpy(y.astype(np.int64))
  return x, y


def _conv_stack(torch, neuron_factory):
  """Workload B's layers for the PyTorch implementations."""
  nn = torch.nn
  layers = []
  for ci, co, pool in ((3, 64, False), (64, 128, True), (128, 256, True), (256, 256, False)):
    layers.append(nn.Conv2d(ci, co, 3, padding=1, bias=False))
    layers.append(nn.BatchNorm2d(co))
    layers.append(neuron_factory())
    if pool:
      layers.append(nn.AvgPool2d(2))
  return layers


def _torch_device(torch):
  """``cuda`` when PyTorch sees a GPU (full float32 there, cuDNN autotuned), else ``cpu``."""
  if not torch.cuda.is_available():
    return torch.device("cpu")
  torch.backends.cuda.matmul.allow_tf32 = False
  torch.backends.cudnn.allow_tf32 = False
  torch.backends.cudnn.benchmark = True
  return torch.device("cuda")


def run_torch(workload, args, flavour):
  import torch

  torch.set_num_threads(os.cpu_count() or 1)
  dev = _torch_device(torch)
  # XLA's CPU backend flushes denormals to zero; without this PyTorch's decaying membranes
  # and gradients hit the x86 denormal slow path (10× slower at A256 in our first run).
  torch.set_flush_denormal(True)
  nn = torch.nn
  spike = _torch_spike()
  x, y = _torch_data(workload, args)
  x, y = x.to(dev), (None if y is None else y.to(dev))
  s = shape_of(workload, args)
  t = s["T"]
  ce = nn.CrossEntropyLoss()

  if flavour in ("torch_loop", "torch_loop_bf16"):

    class LIF(nn.Module):
      """Multi-step LIF over [T, B, ...] with a Python loop (the authors' style)."""

      def forward(self, cur):
        u = torch.zeros_like(cur[0])
        sp = torch.zeros_like(cur[0])
        out = []
        for c in cur.unbind(0):  # not cur[i]: its backward fills a [T, ...] zero tensor per step
          u = 0.5 * u * (1 - sp) + c
          sp = spike(u - 1.0)
          out.append(sp)
        return torch.stack(out)

    if workload.startswith("A"):

      class Net(nn.Module):
        def __init__(self):
          super().__init__()
          self.w_in, self.v, self.head = (
            nn.Linear(IN_A, H_A),
            nn.Linear(H_A, H_A, bias=False),
            nn.Linear(H_A, OUT_A),
          )

        def forward(self, x):
          cur = self.w_in(x)
          u = x.new_zeros(x.shape[1], H_A)
          sp = torch.zeros_like(u)
          out = []
          for c in cur.unbind(0):
            u = 0.5 * u * (1 - sp) + c + self.v(sp)
            sp = spike(u - 1.0)
            out.append(sp)
          return self.head(torch.stack(out)).mean(0)

      net = Net()
    elif workload == "C":
      net = nn.Sequential(nn.Linear(s["N"], s["N"]), LIF())
    else:
      net = _torch_convnet(torch, workload, t, LIF)

  elif flavour == "spikingjelly":
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    class Rect(surrogate.SurrogateFunctionBase):
      """SpikingJelly surrogate with the rect (width 1) gradient of the other implementations."""

      def __init__(self):
        super().__init__(alpha=1.0, spiking=True)

      @staticmethod
      def spiking_function(x, alpha):
        return spike(x)

      @staticmethod
      def primitive_function(x, alpha):
        return torch.clamp(x + 0.5, 0, 1)

    def lif(step_mode="m"):
      return neuron.LIFNode(
        tau=2.0,
        decay_input=False,
        v_threshold=1.0,
        v_reset=0.0,
        surrogate_function=Rect(),
        step_mode=step_mode,
      )

    if workload.startswith("A"):
      # Recurrence: V s[t-1] added to the input current, one single-step neuron per step.
      class Net(nn.Module):
        def __init__(self):
          super().__init__()
          self.w_in = layer.Linear(IN_A, H_A, step_mode="m")
          self.rec = layer.LinearRecurrentContainer(
            lif(step_mode="s"),
            in_features=H_A,
            out_features=H_A,
            bias=False,
            step_mode="m",
          )
          self.head = layer.Linear(H_A, OUT_A, step_mode="m")

        def forward(self, x):
          functional.reset_net(self)
          return self.head(self.rec(self.w_in(x))).mean(0)

      net = Net()
    elif workload == "C":
      base = nn.Sequential(layer.Linear(s["N"], s["N"], step_mode="m"), lif())

      class Net(nn.Module):
        def __init__(self):
          super().__init__()
          self.base = base

        def forward(self, x):
          functional.reset_net(self)
          return self.base(x)

      net = Net()
    else:
      net = _torch_convnet(torch, workload, t, lif, reset=functional.reset_net)

  else:  # snntorch
    import snntorch as snn

    sg = snn.surrogate.custom_surrogate(
      lambda input_, grad_input, spikes: grad_input * (input_.abs() < 0.5).float()
    )

    class SnnLIF(nn.Module):
      """snntorch Leaky (decay 0.5, hard reset to zero) stepped over [T, B, ...]."""

      def __init__(self):
        super().__init__()
        self.lif = snn.Leaky(beta=0.5, threshold=1.0, spike_grad=sg, reset_mechanism="zero")

      def forward(self, cur):
        mem = self.lif.reset_mem()
        out = []
        for c in cur.unbind(0):
          sp, mem = self.lif(c, mem)
          out.append(sp)
        return torch.stack(out)

    if workload.startswith("A"):

      class Net(nn.Module):
        def __init__(self):
          super().__init__()
          self.w_in = nn.Linear(IN_A, H_A)
          self.rlif = snn.RLeaky(
            beta=0.5,
            linear_features=H_A,
            threshold=1.0,
            spike_grad=sg,
            reset_mechanism="zero",
            all_to_all=True,
          )
          self.head = nn.Linear(H_A, OUT_A)

        def forward(self, x):
          cur = self.w_in(x)
          spk, mem = self.rlif.reset_mem()
          out = []
          for c in cur.unbind(0):
            spk, mem = self.rlif(c, spk, mem)
            out.append(spk)
          return self.head(torch.stack(out)).mean(0)

      net = Net()
    elif workload == "C":
      net = nn.Sequential(nn.Linear(s["N"], s["N"]), SnnLIF())
    else:
      net = _torch_convnet(torch, workload, t, SnnLIF)

  net = net.to(dev)
  opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

  autocast = flavour.endswith("bf16")

  def call():
    opt.zero_grad(set_to_none=True)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=autocast):
      out = net(x)
    out = out.float()
    loss = out.sum() if workload == "C" else ce(out, y)
    loss.backward()
    opt.step()
    if dev.type == "cuda":
      torch.cuda.synchronize()

  return call


def _torch_resnet18(torch, t, neuron_factory):
  """Workload D: ResNet-18 (CIFAR) SNN as asgl_jax.models.resnet18 — 3×3/64 stem, stages
  [2, 2, 2, 2] of 64/128/256/512, conv-BN-LIF-conv-BN + shortcut (1×1 conv + BN when the shape
  changes), LIF after the addition, global average pool, linear, mean over T. The stem on the
  static image runs once and is repeated over T, as ours does (exact)."""
  nn = torch.nn

  def lif_apply(m, h):  # h: [T·B, ...] → LIF over [T, B, ...]
    return m(h.reshape(t, -1, *h.shape[1:])).reshape(-1, *h.shape[1:])

  class Block(nn.Module):
    def __init__(self, cin, cout, stride):
      super().__init__()
      self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
      self.b1 = nn.BatchNorm2d(cout)
      self.l1 = neuron_factory()
      self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
      self.b2 = nn.BatchNorm2d(cout)
      self.l2 = neuron_factory()
      self.short = (
        None
        if stride == 1 and cin == cout
        else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
      )

    def forward(self, h):
      y = self.b2(self.c2(lif_apply(self.l1, self.b1(self.c1(h)))))
      return lif_apply(self.l2, y + (h if self.short is None else self.short(h)))

  class Net(nn.Module):
    def __init__(self):
      super().__init__()
      self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64))
      self.stem_lif = neuron_factory()
      blocks, cin = [], 64
      for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        blocks += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
      self.blocks = nn.ModuleList(blocks)
      self.fc = nn.Linear(512, 10)

    def forward(self, x):
      h = self.stem(x)
      h = lif_apply(self.stem_lif, h.unsqueeze(0).expand(t, *h.shape).reshape(-1, *h.shape[1:]))
      for b in self.blocks:
        h = b(h)
      return self.fc(h.mean((2, 3))).reshape(t, -1, 10).mean(0)

  return Net()


def _torch_convnet(torch, workload, t, neuron_factory, reset=None):
  nn = torch.nn
  if workload == "D":
    if reset is not None:
      raise SystemExit("workload D is implemented for ours and torch_loop only")
    return _torch_resnet18(torch, t, neuron_factory)

  class Net(nn.Module):
    """Workload B with time folded into the batch for conv/BN, LIF over [T, B, ...]."""

    def __init__(self):
      super().__init__()
      self.layers = nn.ModuleList(_conv_stack(torch, neuron_factory))
      self.head = nn.Linear(256, 10)

    def forward(self, x):
      if reset is not None:
        reset(self)
      h = x.unsqueeze(0).expand(t, *x.shape).reshape(t * x.shape[0], *x.shape[1:])
      for m in self.layers:
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.AvgPool2d)):
          h = m(h)
        else:
          h = m(h.reshape(t, -1, *h.shape[1:])).reshape(-1, *h.shape[1:])
      logits = self.head(h.mean((2, 3))).reshape(t, -1, 10)
      return logits.mean(0)

  return Net()


# ----------------------------------------------------------------------------- driver


def measure_peak(repeats: int = 10) -> dict:
  """float32 2048×2048 matmul GFLOP/s (median), by JAX/XLA and by PyTorch where installed."""
  out = {}
  import jax
  import jax.numpy as jnp

  _jax_full_f32()
  a = jax.random.normal(jax.random.key(0), (2048, 2048))
  f = jax.jit(lambda a: a @ a)
  jax.block_until_ready(f(a))
  ts = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    jax.block_until_ready(f(a))
    ts.append(time.perf_counter() - t0)
  out["jax"] = 2 * 2048**3 / statistics.median(ts) / 1e9
  del jnp
  try:
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    dev = _torch_device(torch)
    a = torch.randn(2048, 2048, device=dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    a @ a
    sync()
    ts = []
    for _ in range(repeats):
      t0 = time.perf_counter()
      a @ a
      sync()
      ts.append(time.perf_counter() - t0)
    out["torch"] = 2 * 2048**3 / statistics.median(ts) / 1e9
  except ImportError:
    pass
  return out


def _vm_hwm_mib() -> float:
  """Peak resident set size of this process (Linux VmHWM; else ru_maxrss)."""
  try:
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1]) / 1024
  except OSError:
    pass
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_vm_hwm() -> None:
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
  except OSError:
    pass


def _jax_full_f32() -> None:
  """Full float32 matrix products and convolutions on a GPU/TPU (XLA's default there may
  use TF32 or bf16 passes); CPU unchanged."""
  import jax

  if jax.default_backend() != "cpu":
    jax.config.update("jax_default_matmul_precision", "highest")


def _device_peak_mib(impl: str) -> float | None:
  """Peak accelerator memory of this process (``None`` on CPU)."""
  if impl in JAX_IMPLS:
    import jax

    stats = jax.local_devices()[0].memory_stats() if jax.default_backend() != "cpu" else None
    return stats["peak_bytes_in_use"] / 2**20 if stats and "peak_bytes_in_use" in stats else None
  import torch

  return torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None


def worker(workload: str, impl: str, args) -> dict:
  if impl in JAX_IMPLS:
    _jax_full_f32()
  if impl in ("ours", "ours_sg", "ours_f32", "ours_bf16"):
    p, as_bool = (1.0, True) if impl == "ours_sg" else (0.8, impl != "ours_f32")
    dtype = "bfloat16" if impl == "ours_bf16" else None
    make = lambda: run_ours(workload, args, p, as_bool, compute_dtype=dtype)  # noqa: E731
  elif impl == "jax_scan":
    make = lambda: run_jax_scan(workload, args)  # noqa: E731
  elif impl == "spyx":
    make = lambda: run_spyx(workload, args)  # noqa: E731
  else:
    make = lambda: run_torch(workload, args, impl)  # noqa: E731
  call = make()
  t0 = time.perf_counter()
  call()
  first = time.perf_counter() - t0
  for _ in range(args.warmup - 1):
    call()
  peak_with_compile = _vm_hwm_mib()
  _reset_vm_hwm()  # from here on the high-water mark is that of training steps alone
  times = []
  usage0 = resource.getrusage(resource.RUSAGE_SELF)
  for _ in range(args.repeats):
    t0 = time.perf_counter()
    call()
    times.append(time.perf_counter() - t0)
  usage1 = resource.getrusage(resource.RUSAGE_SELF)
  med = statistics.median(times)
  return {
    "workload": workload,
    "impl": impl,
    "ms": 1e3 * med,
    "samples_per_s": shape_of(workload, args)["B"] / med,
    "first_call_s": first,
    "compile_s": first - med if impl in JAX_IMPLS else None,
    "peak_rss_mib": peak_with_compile,
    "step_rss_mib": _vm_hwm_mib(),
    "gflops": flops(workload, args) / med / 1e9,
    # Page faults and kernel CPU time (all threads) per timed step: buffers the allocator maps
    # afresh each step are faulted in and zeroed by the kernel (host_malloc.py).
    "faults_per_step": (usage1.ru_minflt - usage0.ru_minflt) / args.repeats,
    "kernel_ms_per_step": 1e3 * (usage1.ru_stime - usage0.ru_stime) / args.repeats,
    "device_peak_mib": _device_peak_mib(impl),
  }


def versions() -> dict:
  import importlib.metadata as md

  v = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
  for pkg in ("jax", "jaxlib", "flax", "asgl_jax", "torch", "spikingjelly", "snntorch", "spyx"):
    try:
      v[pkg] = md.version(pkg)
    except md.PackageNotFoundError:
      v[pkg] = None
  try:
    import jax

    v["device"] = jax.devices()[0].device_kind
    if jax.default_backend() != "cpu":
      v["float32_products"] = "full float32 (no TF32) in JAX and PyTorch"
  except Exception:
    pass
  return v


def run_worker(workload: str, impl: str, args, env: dict | None = None) -> dict:
  """Runs one (workload, implementation) in a subprocess (environment ``env``, default this
  process's) and returns its result row."""
  cmd = [
    sys.executable,
    __file__,
    f"--worker={workload}:{impl}",
    f"--repeats={args.repeats}",
    f"--warmup={args.warmup}",
    f"--c-neurons={args.c_neurons}",
    f"--d-batch={args.d_batch}",
  ]
  r = subprocess.run(cmd, capture_output=True, text=True, env=env)
  lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
  if r.returncode or not lines:
    err = (r.stderr.strip().splitlines() or ["?"])[-1][:80]
    return {"workload": workload, "impl": impl, "error": err}
  return json.loads(lines[-1][7:])


def combine(rounds: list[dict]) -> dict:
  """One row from the rounds of one (workload, implementation): median time over rounds,
  its spread, the largest RSS."""
  failed = [r for r in rounds if "error" in r]
  if failed:
    return failed[0]
  ms = [r["ms"] for r in rounds]
  med = statistics.median(ms)
  row = dict(rounds[0])
  row.update(
    ms=med,
    samples_per_s=rounds[0]["samples_per_s"] * rounds[0]["ms"] / med,
    gflops=rounds[0]["gflops"] * rounds[0]["ms"] / med,
    spread=(max(ms) - min(ms)) / med,
    peak_rss_mib=max(r["peak_rss_mib"] for r in rounds),
    device_peak_mib=max(r["device_peak_mib"] or 0 for r in rounds) or None,
    step_rss_mib=max(r["step_rss_mib"] for r in rounds),
    faults_per_step=statistics.median(r["faults_per_step"] for r in rounds),
    kernel_ms_per_step=statistics.median(r["kernel_ms_per_step"] for r in rounds),
    compile_s=None
    if rounds[0]["compile_s"] is None
    else statistics.median(r["compile_s"] for r in rounds),
    rounds=ms,
  )
  return row


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--workloads", default="A64,A256,B,C")
  ap.add_argument("--impls", default=",".join(IMPLS))
  ap.add_argument("--repeats", type=int, default=10, help="timed steps per round")
  ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (see below)")
  ap.add_argument("--warmup", type=int, default=3, help="spyx recompiles on its first 3 calls")
  ap.add_argument("--c-neurons", type=int, default=0, help="0: 16384 on GPU/TPU, 2048 on CPU")
  ap.add_argument("--d-batch", type=int, default=128, help="workload D's batch (128: the paper's)")
  ap.add_argument("--json", default="", help="also write the rows here")
  ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
  args = ap.parse_args()
  if not args.c_neurons:
    import jax

    args.c_neurons = 2048 if jax.default_backend() == "cpu" else 16384
  if args.worker:
    workload, impl = args.worker.split(":")
    print("RESULT " + json.dumps(worker(workload, impl, args)), flush=True)
    return
  v = versions()
  print(f"# {json.dumps(v)}")
  rows, peaks = [], []
  for workload in args.workloads.split(","):
    impls = [i for i in args.impls.split(",") if i in SUPPORTED[workload]]
    # Rounds interleave the implementations (ours, a, b, ..., ours, a, b, ...): a shared VM's
    # speed drifts by 10-20 % over minutes, which would otherwise bias whoever ran in a slow
    # minute. Each figure is the median over rounds of per-round medians.
    per_impl: dict[str, list[dict]] = {i: [] for i in impls}
    for r in range(args.rounds):
      peaks.append(measure_peak())
      for impl in impls:
        row = run_worker(workload, impl, args)
        per_impl[impl].append(row)
        # Progress (a run stopped by a time limit still leaves its finished rows).
        done = row.get("error") or f"{row['ms']:.1f} ms/step"
        print(f"# {workload} {impl} round {r + 1}/{args.rounds}: {done}", flush=True)
    rows.extend(combine(per_impl[i]) for i in impls)
  peak = {k: statistics.median(p[k] for p in peaks) for k in peaks[0]}
  best_peak = max(peak.values())
  print(f"# float32 matmul peak (2048^3, median over rounds): {json.dumps(peak)} GFLOP/s")
  on_device = any(r.get("device_peak_mib") is not None for r in rows)
  print(
    "| workload | implementation | ms / step | spread | samples / s | time vs ours | "
    "peak RSS MiB | step RSS MiB | compile s | GFLOP/s | % of peak |"
    + (" device peak MiB |" if on_device else "")
  )
  print("|" + "---|" * (12 if on_device else 11))
  ours_ms = {r["workload"]: r["ms"] for r in rows if r["impl"] == "ours" and "ms" in r}
  for row in rows:
    w, impl = row["workload"], row["impl"]
    if "error" in row:
      print(f"| {w} | {impl} | failed: {row['error']} | | | | | | | | |")
      continue
    ratio = f"{row['ms'] / ours_ms[w]:.2f}×" if w in ours_ms else ""
    comp = f"{row['compile_s']:.1f}" if row["compile_s"] is not None else "–"
    print(
      f"| {w} | {impl} | {row['ms']:.1f} | {100 * row['spread']:.0f} % | "
      f"{row['samples_per_s']:.1f} | {ratio} | {row['peak_rss_mib']:.0f} | "
      f"{row['step_rss_mib']:.0f} | {comp} | {row['gflops']:.1f} | "
      f"{100 * row['gflops'] / best_peak:.0f} % |"
      + (f" {row['device_peak_mib'] or 0:.0f} |" if on_device else "")
    )
  if args.json:
    with open(args.json, "w") as f:
      json.dump(
        {"versions": v, "peak_gflops": peak, "peaks": peaks, "rows": rows, "args": vars(args)},
        f,
        indent=2,
      )


if __name__ == "__main__":
  main()
