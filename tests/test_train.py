"""Training system: schedules, optimizers, the loop, resume, NaN stop, sg/asgl switch."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from asgl_jax import data, losses, models, optim, schedules, train
from asgl_jax.configs import mnist as mnist_config
from asgl_jax.cpu import event_matmul

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_dataset(n=32, seed=0):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, 28, 28, 1)).astype(np.float32)
  y = (x[:, :14].mean(axis=(1, 2, 3)) > 0).astype(np.int32)  # learnable label
  return data.ArrayDataset(
    {"train": (x, y), "validation": (x[:8], y[:8]), "test": (x[8:16], y[8:16])},
    num_classes=2,
    name="tiny",
  )


def tiny_config(**overrides):
  c = mnist_config.get_config()
  c.model.name = "cnn_tiny"
  c.time_steps = 2
  c.batch_size = 8
  c.num_epochs = 2
  c.noise.p0 = 0.5
  c.log_every = 1000
  c.analysis_examples = 8
  c.update_from_flattened_dict(overrides)
  return c


# ----------------------------------------------------------------------------- pieces


def test_noise_schedule_at_milestones():
  # Table 7, SHD: p0 = 0.8, ζ = 0.9, milestones 30/70/90/95
  f = schedules.make_noise_schedule(p0=0.8, zeta=0.9, milestones=(30, 70, 90, 95))
  expected = {0: 0.8, 29: 0.8, 30: 0.82, 69: 0.82, 70: 0.838, 90: 0.8542, 95: 0.86878, 99: 0.86878}
  for epoch, p in expected.items():
    assert f(epoch) == pytest.approx(p), epoch
  assert schedules.make_noise_schedule(p0=0.8, zeta=1.0)(299) == pytest.approx(0.8)
  with pytest.raises(ValueError, match="p0"):
    schedules.make_noise_schedule(p0=1.2, zeta=1.0)
  with pytest.raises(ValueError, match="milestones"):
    schedules.make_noise_schedule(p0=0.5, zeta=0.9, milestones=(70, 30))
  # Fig. 3a: +0.1 every 30 epochs from 0.5, capped at 1
  ramp = schedules.make_noise_schedule(
    p0=0.5, zeta=1.0, milestones=tuple(range(30, 300, 30)), increment=0.1
  )
  assert [round(ramp(e), 9) for e in (0, 29, 30, 89, 90, 150, 299)] == [
    0.5,
    0.5,
    0.6,
    0.7,
    0.8,
    1.0,
    1.0,
  ]
  with pytest.raises(ValueError, match="increment"):
    schedules.make_noise_schedule(p0=0.5, zeta=1.0, increment=-0.1)
  c = tiny_config(**{"noise.increment": 0.25, "noise.milestones": (1,), "noise.p0": 0.5})
  assert train.builder.noise_schedule(c)(1) == pytest.approx(0.75)  # the config field reaches it


def test_asgl_with_fixed_widths_keeps_them_and_still_mixes_noise(tmp_path):
  cfg = tiny_config(num_epochs=1, analysis_examples=0, **{"neuron.learn_alpha": False})
  summary = train.train_and_evaluate(cfg, str(tmp_path), tiny_dataset())
  assert summary["method"] == "asgl" and set(summary["widths"].values()) == {1.0}
  p = [json.loads(line)["p"] for line in open(tmp_path / "metrics.jsonl")]
  assert p == [0.5]  # still the noisy network (p0 = 0.5), only the width is fixed


def test_losses_against_formulas():
  out = jax.random.normal(jax.random.key(0), (3, 4, 5))
  y = jnp.array([0, 1, 2, 4])
  logits = np.asarray(out).mean(0)
  lse = np.log(np.exp(logits).sum(-1))
  ce = np.mean(lse - logits[np.arange(4), y])
  assert float(losses.cross_entropy(out, y)) == pytest.approx(ce, rel=1e-5)
  o = np.asarray(out)
  lse_t = np.log(np.exp(o).sum(-1))
  ce_t = np.mean(lse_t - o[:, np.arange(4), y])
  tet = 0.999 * ce_t + 1e-3 * np.mean((o - 1.0) ** 2)
  assert float(losses.tet_loss(out, y)) == pytest.approx(tet, rel=1e-5)


def test_optimizer_weight_decay_only_on_kernels_and_sg_freezes_widths():
  params = {
    "weights": {
      "conv": {"kernel": jnp.ones((2, 2))},
      "bn": {"scale": jnp.ones(2), "bias": jnp.ones(2)},
    },
    "spiking": {"lif": {"log_alpha": jnp.zeros(())}},
  }
  zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
  tx = optim.make_optimizer(lr_schedule=1.0, momentum=0.0, weight_decay=0.1, spiking_lr=0.5)
  upd, _ = tx.update(zeros, tx.init(params), params)
  np.testing.assert_allclose(upd["weights"]["conv"]["kernel"], -0.1)  # −lr·wd·w
  np.testing.assert_allclose(upd["weights"]["bn"]["scale"], 0.0)
  grads = jax.tree_util.tree_map(jnp.ones_like, params)
  upd, _ = tx.update(grads, tx.init(params), params)
  np.testing.assert_allclose(
    upd["spiking"]["lif"]["log_alpha"], -0.5, rtol=1e-4
  )  # Adam's first step
  tx_sg = optim.make_optimizer(lr_schedule=1.0, method="sg")
  upd, _ = tx_sg.update(grads, tx_sg.init(params), params)
  assert float(upd["spiking"]["lif"]["log_alpha"]) == 0.0
  with pytest.raises(ValueError, match="method"):
    optim.make_optimizer(lr_schedule=1.0, method="nope")


# ----------------------------------------------------------------------------- the loop


def _params_close(a, b, **kw):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), **kw)


def test_train_and_evaluate_writes_outputs_and_learns(tmp_path):
  config = tiny_config(num_epochs=3)
  s = train.train_and_evaluate(config, str(tmp_path), tiny_dataset())
  summary = json.loads((tmp_path / "summary.json").read_text())
  for k in (
    "test_snn_accuracy",
    "val_snn_accuracy",
    "final_train_loss",
    "steps",
    "wall_seconds",
    "num_devices",
    "num_classes",
  ):
    assert k in summary
  assert summary["steps"] == 12 and summary["num_classes"] == 2
  lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert [r["epoch"] for r in lines] == [1, 2, 3]
  assert lines[-1]["train_loss"] < lines[0]["train_loss"]
  assert any(k.startswith("width/") for k in lines[0]) and any("rate/" in k for k in lines[0])
  assert (tmp_path / "curves.png").exists()
  assert any(k.startswith("smoothing_error/") for k in lines[-1])
  assert any(k.startswith("noisy_snn_cosine/") for k in lines[-1])
  analysis = json.loads((tmp_path / "analysis.json").read_text())
  assert 0 < analysis["energy"]["energy_ratio"] == summary["energy_ratio"]
  assert summary["energy_examples"] == 8  # all 8 validation examples, in chunks of 8
  assert (tmp_path / "analysis.png").exists()
  assert os.listdir(tmp_path / "tensorboard")
  assert s["widths"]


def test_sg_freezes_widths_asgl_learns_them(tmp_path):
  init = train.widths(train.split_model(train.build_model(tiny_config(), 2))[1])
  sg = train.train_and_evaluate(
    tiny_config(method="sg", num_epochs=1), str(tmp_path / "sg"), tiny_dataset()
  )
  asgl = train.train_and_evaluate(tiny_config(num_epochs=1), str(tmp_path / "asgl"), tiny_dataset())
  assert sg["widths"] == pytest.approx(init, rel=1e-6)
  assert all(abs(asgl["widths"][k] - init[k]) > 1e-4 for k in init)


def test_resume_gives_the_same_parameters(tmp_path):
  ds = tiny_dataset()
  full = train.train_and_evaluate(tiny_config(num_epochs=3), str(tmp_path / "full"), ds)

  class Killed(Exception):
    pass

  class Dying(data.ArrayDataset):
    def train_batch(self, *, epoch, index, **kw):
      if epoch == 2 and index == 1:
        raise Killed
      return super().train_batch(epoch=epoch, index=index, **kw)

  dying = Dying(ds.splits, num_classes=2)
  with pytest.raises(Killed):
    train.train_and_evaluate(tiny_config(num_epochs=3), str(tmp_path / "killed"), dying)
  resumed = train.train_and_evaluate(tiny_config(num_epochs=3), str(tmp_path / "killed"), ds)
  assert resumed["steps"] == full["steps"]
  _params_close(resumed["final_state"].params, full["final_state"].params, rtol=1e-6, atol=1e-7)
  _params_close(
    resumed["final_state"].batch_stats, full["final_state"].batch_stats, rtol=1e-6, atol=1e-7
  )

  # A preemption signal mid-epoch: the step ends, a checkpoint is saved there, the rerun
  # finishes as the uninterrupted run did.
  class Signalled(data.ArrayDataset):
    def train_batch(self, *, epoch, index, **kw):
      if epoch == 1 and index == 1:
        os.kill(os.getpid(), signal.SIGUSR1)
      return super().train_batch(epoch=epoch, index=index, **kw)

  cfg = tiny_config(num_epochs=3, preemption_signals=("SIGUSR1",), prefetch=0)  # batch at its step
  workdir = str(tmp_path / "preempted")
  with pytest.raises(train.preemption.Preempted) as e:
    train.train_and_evaluate(cfg, workdir, Signalled(ds.splits, num_classes=2))
  assert e.value.step == 6  # 4 steps per epoch: the signal came during step 6
  assert max(int(d) for d in os.listdir(os.path.join(workdir, "checkpoints")) if d.isdigit()) == 6
  resumed = train.train_and_evaluate(cfg, workdir, ds)
  _params_close(resumed["final_state"].params, full["final_state"].params, rtol=1e-6, atol=1e-7)
  # the cut epoch's record averages over all of its steps, before and after the signal
  np.testing.assert_allclose(resumed["final_train_loss"], full["final_train_loss"], rtol=1e-6)


def test_paper_protocol_trains_on_all_examples_and_never_validates(tmp_path):
  ds = tiny_dataset()  # 32 train + 8 validation

  class NoValidation(data.ArrayDataset):
    def eval_batches(self, split, batch_size, rows=None):
      assert split != "validation", "the paper's protocol must never validate"
      return super().eval_batches(split, batch_size, rows)

  guarded = NoValidation(ds.splits, num_classes=2, name="tiny")
  summary = train.train_and_evaluate(
    tiny_config(protocol="paper", analysis_examples=4), str(tmp_path / "paper"), guarded
  )
  assert summary["steps"] == 2 * 40 // 8  # two epochs over all 40 examples
  assert summary["protocol"] == "paper" and not any(k.startswith("val") for k in summary)
  records = [json.loads(line) for line in open(tmp_path / "paper" / "metrics.jsonl")]
  assert len(records) == 2 and not any(k.startswith("val") for r in records for k in r)
  on_disk = json.load(open(tmp_path / "paper" / "summary.json"))
  assert on_disk["test_snn_accuracy"] == summary["test_snn_accuracy"]
  # The default holds validation out; a dataset without one is an error at start, not later.
  heldout = train.train_and_evaluate(tiny_config(num_epochs=1), str(tmp_path / "h"), ds)
  assert heldout["steps"] == 32 // 8 and "val_snn_accuracy" in heldout
  with pytest.raises(ValueError, match="no validation split.*protocol=paper"):
    train.train_and_evaluate(tiny_config(), str(tmp_path / "x"), ds.without_validation())
  with pytest.raises(ValueError, match="config.protocol must be one of"):
    train.train_and_evaluate(tiny_config(protocol="test"), str(tmp_path / "y"), ds)


def test_nan_loss_stops_with_step_and_keeps_checkpoint(tmp_path):
  ds = tiny_dataset()

  class Poisoned(data.ArrayDataset):
    def train_batch(self, *, epoch, index, **kw):
      b = super().train_batch(epoch=epoch, index=index, **kw)
      if epoch == 1 and index == 2:
        b["image"] = np.full_like(b["image"], np.nan)
      return b

  with pytest.raises(FloatingPointError, match=r"non-finite inputs.* at step 7.*step 4"):
    train.train_and_evaluate(
      tiny_config(num_epochs=3), str(tmp_path), Poisoned(ds.splits, num_classes=2)
    )
  assert sorted(os.listdir(tmp_path / "checkpoints")) == ["4"]


def test_nan_at_p_1_is_caught_although_the_loss_stays_finite(tmp_path):
  """At p = 1 (SG, or ASGL once p reaches 1) a NaN potential is a zero spike with zero
  gradient: the loss stays finite. The step's finiteness flags still stop the run."""
  ds = tiny_dataset()

  class OneNaN(data.ArrayDataset):
    def train_batch(self, *, epoch, index, **kw):
      b = super().train_batch(epoch=epoch, index=index, **kw)
      if epoch == 0 and index == 1:
        b["image"] = b["image"].copy()
        b["image"][0, 0, 0, 0] = np.nan  # one pixel of one image
      return b

  with pytest.raises(FloatingPointError) as e:
    train.train_and_evaluate(
      tiny_config(method="sg", num_epochs=2), str(tmp_path), OneNaN(ds.splits, num_classes=2)
    )
  msg = str(e.value)
  assert msg.startswith("non-finite inputs") and " at step 2 " in msg
  assert "No checkpoint had been written yet" in msg
  assert "(loss nan)" not in msg  # the loss was finite: only the input check caught it
  assert not (tmp_path / "checkpoints").exists() or not os.listdir(tmp_path / "checkpoints")


@pytest.mark.parametrize(
  "override, match",
  [
    ({"method": "bptt"}, "method"),
    ({"batch_size": 0}, "batch_size"),
    ({"neuron.alpha": -1.0}, "alpha"),
    ({"noise.p0": 1.5}, "p0"),
    ({"loss": "hinge"}, "loss"),
    ({"model.name": "resnet1000"}, "resnet18"),
    ({"learning_rate": -0.1}, r"learning_rate must be > 0, got -0.1"),
    ({"learning_rate": float("nan")}, r"learning_rate must be > 0, got nan"),
    ({"weight_decay": -5e-4}, r"weight_decay must be >= 0"),
    ({"momentum": 2.0}, r"momentum must be in \[0, 1\)"),
    ({"spiking_lr": -1.0}, r"spiking_lr must be >= 0"),
  ],
)
def test_bad_config_values_are_rejected(tmp_path, override, match):
  with pytest.raises(ValueError, match=match):
    train.train_and_evaluate(tiny_config(**override), str(tmp_path), tiny_dataset())


def test_same_result_on_1_and_8_devices():
  code = textwrap.dedent(
    """
    import os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import sys, tempfile
    sys.path.insert(0, os.path.join({root!r}, "tests"))
    import jax, numpy as np
    from test_train import tiny_config, tiny_dataset
    from asgl_jax import train
    assert jax.device_count() == 8
    out = {{}}
    for n in (1, 8):
      with tempfile.TemporaryDirectory() as d:
        s = train.train_and_evaluate(tiny_config(num_devices=n, num_train_steps=3), d, tiny_dataset())
        assert s["num_devices"] == n
        out[n] = s["final_state"]
    for a, b in zip(jax.tree_util.tree_leaves(out[1].params), jax.tree_util.tree_leaves(out[8].params)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    print("EQUAL")
    """
  ).format(root=ROOT)
  env = dict(os.environ, PYTHONPATH=ROOT)
  r = subprocess.run(
    [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
  )
  assert r.returncode == 0, r.stderr[-3000:]
  assert "EQUAL" in r.stdout


def test_lr_schedule_is_cosine_to_zero():
  f = schedules.make_lr_schedule("cosine", base_lr=0.1, total_steps=100)
  assert float(f(0)) == pytest.approx(0.1)
  assert float(f(50)) == pytest.approx(0.05, rel=1e-5)
  assert float(f(100)) == pytest.approx(0.0, abs=1e-9)


def test_train_steps_lower_for_gpu_and_tpu_without_host_callbacks(monkeypatch):
  """The whole training step, lowered for each platform (no accelerator needed): on CPU the
  recurrent net's spike input takes the event-driven host kernels, on GPU/TPU only XLA ops
  (no callback), for a recurrent SNN on bool spikes and a ResNet with BN."""
  monkeypatch.setattr(event_matmul, "EVENT_DRIVEN_MIN_MACS", 0)  # the tiny input product too
  tx = optim.make_optimizer(lr_schedule=0.1)

  def traced_step(model, x):
    graphdef, params, stats = train.split_model(model)
    step = jax.jit(train.make_train_step(graphdef, tx, losses.cross_entropy))
    state = train.TrainState(jnp.int32(0), params, stats, tx.init(params))
    batch = {"image": x, "label": jnp.arange(3) % 4}
    return step.trace(state, batch, jax.random.key(0), jnp.float32(0.8))

  def lowered(traced, platform):
    return traced.lower(lowering_platforms=(platform,)).as_text()

  rnn = models.SpikingRNN(20, 16, num_classes=4, time_steps=5, rngs=nnx.Rngs(0), batch_major=True)
  rnn_step = traced_step(rnn, jnp.asarray(np.random.default_rng(0).random((3, 5, 20)) < 0.2))
  resnet = models.resnet_tiny(num_classes=4, time_steps=2, rngs=nnx.Rngs(0))
  resnet_step = traced_step(resnet, jnp.ones((3, 32, 32, 3)))
  assert "callback" in lowered(rnn_step, "cpu")
  for platform in ("cuda", "tpu"):
    assert "callback" not in lowered(rnn_step, platform), platform
    text = lowered(resnet_step, platform)
    assert "callback" not in text and "convolution" in text, platform


def test_run_seeds_reports_mean_and_sample_std_over_seeds(tmp_path):
  from asgl_jax.train import sweeps

  loaded = []

  def load(c):
    loaded.append(c.seed)
    return tiny_dataset(seed=c.seed)

  cfg = tiny_config(num_epochs=1, analysis_examples=0)
  records = sweeps.run_seeds(cfg, str(tmp_path), load, seeds=[3, 5])
  assert loaded == [3, 5] and [r["seed"] for r in records] == [3, 5]
  per_seed = [json.load(open(tmp_path / f"seed_{s}" / "summary.json")) for s in (3, 5)]
  acc = np.array([s["test_snn_accuracy"] for s in per_seed])
  table = sweeps.write_seed_report(records, str(tmp_path))
  st = json.load(open(tmp_path / "seeds.json"))["statistics"]["test_snn_accuracy"]
  assert st["n"] == 2
  np.testing.assert_allclose([st["mean"], st["std"]], [acc.mean(), acc.std(ddof=1)], rtol=1e-12)
  assert f"{100 * acc.mean():.2f} ± {100 * acc.std(ddof=1):.2f}" in table
  # a finished seed is read back, not retrained; repeated seeds are an error
  assert sweeps.run_seeds(cfg, str(tmp_path), load, seeds=[3]) == records[:1]
  assert loaded == [3, 5, 3]
  with pytest.raises(ValueError, match="distinct seeds"):
    sweeps.run_seeds(cfg, str(tmp_path), load, seeds=[1, 1])


def test_width_ablation_sweeps_zeta_for_asgl_and_reports_the_best(tmp_path):
  from asgl_jax.train import sweeps

  cfg = tiny_config(analysis_examples=0)
  cfg.noise.milestones = (1,)  # p raised once, after epoch 1: p = 1 − (1 − p0)·ζ
  records = sweeps.run_ablation(
    cfg, str(tmp_path), tiny_dataset(), methods=("sg", "asgl"), widths=(1.0,), zetas=(0.2, 0.6)
  )
  assert [(r["method"], r.get("zeta")) for r in records] == [
    ("sg", None),
    ("asgl", 0.2),
    ("asgl", 0.6),
  ]
  for zeta in (0.2, 0.6):
    ps = [json.loads(line)["p"] for line in open(tmp_path / f"asgl_z{zeta:g}_w1" / "metrics.jsonl")]
    np.testing.assert_allclose(ps, [0.5, 1 - 0.5 * zeta])
  table = sweeps.write_ablation_report(records, str(tmp_path))
  best = max(r["test_snn_accuracy"] for r in records if r["method"] == "asgl")
  assert f"| ASGL (best ζ) | {100 * best:.2f} |" in table
  assert "| ASGL (ζ = 0.2) |" in table and "| SG |" in table


def test_macro_precision_recall_f1_match_sklearn():
  from sklearn.metrics import f1_score, precision_score, recall_score

  from asgl_jax.train import step

  rng = np.random.default_rng(0)
  labels = rng.integers(0, 4, 200)  # class 4 never occurs, class 3 is never predicted
  pred = np.where(rng.random(200) < 0.6, labels, rng.integers(0, 3, 200))
  pred[labels == 3] = rng.integers(0, 3, (labels == 3).sum())
  outputs = jax.nn.one_hot(pred, 5)[None]  # [T = 1, B, C]
  scores = step.class_count_scores(outputs, jnp.asarray(labels), num_classes=5)
  sums = {f"test_snn_{k}": float(jnp.sum(v)) for k, v in scores.items()}
  got = step.precision_recall_f1(sums)
  kw = dict(labels=[0, 1, 2, 3], average="macro", zero_division=0)
  np.testing.assert_allclose(got["test_snn_precision"], precision_score(labels, pred, **kw))
  np.testing.assert_allclose(got["test_snn_recall"], recall_score(labels, pred, **kw))
  np.testing.assert_allclose(got["test_snn_f1"], f1_score(labels, pred, **kw))
  assert got["test_snn_accuracy"] == np.sum(pred == labels)
  assert not any("/" in k for k in got)


def test_classify_f1_task_reports_f1_in_the_summary(tmp_path):
  cfg = tiny_config(num_epochs=1, analysis_examples=0, task="classify_f1")
  summary = train.train_and_evaluate(cfg, str(tmp_path), tiny_dataset())
  for k in ("test_snn_f1", "test_snn_precision", "test_snn_recall", "test_noisy_f1"):
    assert 0.0 <= summary[k] <= 1.0, k
  record = json.loads((tmp_path / "metrics.jsonl").read_text())
  assert "validation_snn_f1" in record and not any("/" in k and "tp" in k for k in record)


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_a_busy_workdir_is_refused_and_a_killed_runs_lock_does_not_stick(tmp_path):
  from asgl_jax import parallel

  holder = subprocess.Popen(
    [
      sys.executable,
      "-c",
      "import fcntl, sys, time\n"
      "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
      "f.write('pid 4242 on testhost'); f.flush(); print('held', flush=True); time.sleep(120)",
      str(tmp_path / parallel.LOCK_FILE),
    ],
    stdout=subprocess.PIPE,
    text=True,
  )
  try:
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RuntimeError, match=r"in use by another run \(pid 4242 on testhost\)"):
      train.train_and_evaluate(tiny_config(num_epochs=1), str(tmp_path), tiny_dataset())
  finally:
    holder.kill()
    holder.wait(timeout=30)
  # the kernel released the killed holder's lock: the run goes ahead
  summary = train.train_and_evaluate(tiny_config(num_epochs=1), str(tmp_path), tiny_dataset())
  assert summary["steps"] == 4


def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
  ds = tiny_dataset()
  full = train.train_and_evaluate(tiny_config(num_epochs=3), str(tmp_path / "full"), ds)
  work = tmp_path / "run"

  class Dying(data.ArrayDataset):  # killed in epoch 3: checkpoints 4 and 8 are written
    def train_batch(self, *, epoch, index, **kw):
      if epoch == 2 and index == 1:
        raise KeyboardInterrupt
      return super().train_batch(epoch=epoch, index=index, **kw)

  with pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(tiny_config(num_epochs=3), str(work), Dying(ds.splits, 2))
  ckpts = work / "checkpoints"
  assert sorted(p.name for p in ckpts.iterdir() if p.name.isdigit()) == ["4", "8"]
  # flip bytes in the middle of every data file of checkpoint 8, and leave a stray empty step
  for f in (ckpts / "8").rglob("*"):
    if f.is_file() and f.stat().st_size > 64 and f.suffix != ".json":
      raw = bytearray(f.read_bytes())
      mid = len(raw) // 2
      raw[mid : mid + 8] = bytes(b ^ 0xFF for b in raw[mid : mid + 8])
      f.write_bytes(bytes(raw))
  (ckpts / "999").mkdir()
  capsys.readouterr()
  resumed = train.train_and_evaluate(tiny_config(num_epochs=3), str(work), ds)
  err = capsys.readouterr().err
  assert "skipping checkpoint 999" in err and "skipping checkpoint 8" in err, err
  assert "Resuming from step 4" in err
  assert sorted(p.name for p in (work / "checkpoints_skipped").iterdir()) == ["8", "999"]
  assert sorted(p.name for p in ckpts.iterdir() if p.name.isdigit()) == ["12", "4", "8"]
  assert resumed["steps"] == full["steps"] == 12
  _params_close(resumed["final_state"].params, full["final_state"].params, rtol=1e-6, atol=1e-7)
  # a silent change (here: a CRC that no longer matches) is caught too
  from asgl_jax import checkpoint as ckpt_lib

  crc_file = tmp_path / "run" / "checkpoints.crc.json"
  crcs = json.loads(crc_file.read_text())
  assert {"8", "12"} <= set(crcs)
  crcs["12"] ^= 1
  crc_file.write_text(json.dumps(crcs))
  like = {"state": resumed["final_state"]}
  capsys.readouterr()
  ck = ckpt_lib.Checkpointer(str(work))
  step, _ = ck.restore_latest(like)
  ck.close()
  err = capsys.readouterr().err
  assert step == 8 and "skipping checkpoint 12" in err and "do not match the CRC" in err, err


def _bf16_cases():
  rng = np.random.default_rng(0)
  yield (
    "mlp",
    models.SpikingMLP(6, [8], num_classes=4, time_steps=2, rngs=nnx.Rngs(0)),
    (jnp.asarray(rng.normal(size=(3, 6)), jnp.float32)),
  )
  yield (
    "cnn_tiny",
    models.get_model("cnn_tiny", num_classes=4, rngs=nnx.Rngs(0)),
    jnp.ones((3, 28, 28, 1)),
  )
  yield (
    "resnet_tiny",
    models.resnet_tiny(num_classes=4, time_steps=2, rngs=nnx.Rngs(0)),
    (jnp.ones((3, 16, 16, 3))),
  )
  rnn = models.SpikingRNN(10, 8, num_classes=4, time_steps=5, rngs=nnx.Rngs(0), batch_major=True)
  yield "rsnn (bool spikes)", rnn, jnp.asarray(rng.random((3, 5, 10)) < 0.3)
  clif = models.SpikingCLIFNet(
    10, 8, num_classes=4, time_steps=4, rngs=nnx.Rngs(0), batch_major=True
  )
  yield "clif_net", clif, jnp.asarray(rng.random((3, 4, 10)), jnp.float32)


@pytest.mark.parametrize("name, model, x", list(_bf16_cases()), ids=lambda v: str(v)[:12])
def test_bfloat16_steps_compute_in_bf16_and_keep_float32_state(name, model, x):
  tx = optim.make_optimizer(lr_schedule=0.1)
  graphdef, params, stats = train.split_model(model)
  step_fn = train.make_train_step(graphdef, tx, losses.cross_entropy, compute_dtype=jnp.bfloat16)
  state = train.TrainState(jnp.int32(0), params, stats, tx.init(params))
  batch = {"image": x, "label": jnp.arange(3) % 4}
  args = (state, batch, jax.random.key(0), jnp.float32(0.8))
  new, metrics = jax.jit(step_fn)(*args)
  assert np.isfinite(float(metrics["loss"])) and np.all(np.asarray(metrics["finite"]) == 1)
  dtypes = lambda tree: [a.dtype for a in jax.tree.leaves(tree)]  # noqa: E731
  assert dtypes(new.params) == dtypes(state.params)  # master weights and widths stay float32
  assert dtypes(new.batch_stats) == dtypes(state.batch_stats)
  assert dtypes(new.opt_state) == dtypes(state.opt_state)
  jaxpr = str(jax.make_jaxpr(step_fn)(*args))
  assert any(op in jaxpr for op in ("dot_general", "conv_general_dilated")), name
  assert "bf16" in jaxpr, name  # the forward and backward matmuls / convolutions run in bf16
  for platform in ("cuda", "tpu"):
    text = jax.jit(step_fn).trace(*args).lower(lowering_platforms=(platform,)).as_text()
    assert "bf16" in text and "callback" not in text, platform
  evaluate = train.make_eval_step(graphdef, compute_dtype=jnp.bfloat16)
  sums = jax.jit(evaluate)(new, {**batch, "mask": jnp.ones(3, bool)}, jax.random.key(1), 0.8)
  assert float(sums["count"]) == 3 and 0 <= float(sums["snn_accuracy"]) <= 3


def test_prefetching_batches_trains_exactly_as_reading_them_on_demand(tmp_path):
  runs = {}
  for depth in (0, 3):
    c = tiny_config(num_epochs=2, prefetch=depth, analysis_examples=0)
    runs[depth] = train.train_and_evaluate(c, str(tmp_path / f"d{depth}"), tiny_dataset())
  a, b = (jax.tree.leaves(runs[d]["final_state"].params) for d in (0, 3))
  for x, y in zip(a, b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  rec = json.loads((tmp_path / "d3" / "metrics.jsonl").read_text().splitlines()[-1])
  assert rec["data_wait_ms"] >= 0


def test_prefetcher_keeps_order_and_hands_on_errors():
  from asgl_jax import parallel

  def fn(s):
    if s == 3:
      raise RuntimeError("bad batch 3")
    if s == 7:
      raise KeyboardInterrupt  # not an Exception: still handed over, never a hang
    return s

  with parallel.Prefetcher(fn, start=0, stop=10, depth=2) as batches:
    assert [batches.get(s) for s in range(3)] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="bad batch 3"):
      batches.get(3)
  with parallel.Prefetcher(fn, start=5, stop=10, depth=2) as batches:
    with pytest.raises(ValueError, match="asked for step 6, expected 5"):
      batches.get(6)
  with parallel.Prefetcher(fn, start=6, stop=10, depth=2) as batches:
    assert batches.get(6) == 6
    with pytest.raises(KeyboardInterrupt):
      batches.get(7)
  with pytest.raises(ValueError, match="depth"):
    parallel.Prefetcher(fn, start=0, stop=1, depth=-1)
