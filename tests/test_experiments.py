"""Experiment mains and configs: every config loads and builds; the mains run end to end."""

import glob
import importlib
import json
import os

import jax
import pytest
from flax import nnx
from main_runner import run_python

from asgl_jax import cpu, models, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(
  os.path.basename(p)[:-3]
  for p in glob.glob(os.path.join(ROOT, "experiments", "configs", "*.py"))
  if not os.path.basename(p).startswith(("_", "base", "cifar_base"))
)


@pytest.mark.parametrize("name", CONFIGS)
def test_config_loads_documents_itself_and_its_model_initialises(name):
  mod = importlib.import_module(f"experiments.configs.{name}")
  assert "python -m experiments." in mod.__doc__  # the command
  config = mod.get_config()
  train.validate_config(config)
  classes = {"cifar10": 10, "cifar100": 100, "tiny_imagenet": 200, "mnist_subset": 10}
  classes.update({"shd": 20, "randman": 10, "spikegrams": 10, "dvs_cifar10": 10, "dvs_gesture": 11})
  num_classes = classes[config.dataset.name]
  model = nnx.eval_shape(lambda: train.build_model(config, num_classes))
  assert models.count_params(model) > 0
  if name.startswith(("cifar", "tinyimagenet")):
    assert "Paper" in mod.__doc__ and "Hardware" in mod.__doc__


def test_model_outputs_shape_for_every_zoo_entry():
  shapes = {
    "cifarnet": (2, 32, 32, 3),
    "resnet18": (2, 32, 32, 3),
    "resnet19": (2, 32, 32, 3),
    "vgg13": (2, 64, 64, 3),
    "vggsnn": (3, 2, 48, 48, 2),
  }
  for name, shape in shapes.items():
    kw = {"time_steps": 3} if name == "vggsnn" else {}
    model = nnx.eval_shape(
      lambda name=name, kw=kw: models.get_model(name, num_classes=7, rngs=nnx.Rngs(0), **kw)
    )
    graphdef, state = nnx.split(model)
    out = jax.eval_shape(
      lambda s, x, g=graphdef: nnx.merge(g, s)(x, train=False),
      state,
      jax.ShapeDtypeStruct(shape, "float32"),
    )
    t = 3 if name == "vggsnn" else model.time_steps
    assert out.shape == (t, shape[-4] if name != "vggsnn" else 2, 7), name
  with pytest.raises(ValueError, match="cifarnet"):
    models.get_model("alexnet")


def test_dvs_gesture_net_is_plifs_eight_layer_network():
  model = nnx.eval_shape(
    lambda: models.get_model("dvs_gesture_net", time_steps=4, rngs=nnx.Rngs(0))
  )
  assert model.spec == (128, "M") * 5 and len(model.dense) == 1
  graphdef, state = nnx.split(model)
  out = jax.eval_shape(
    lambda s, x: nnx.merge(graphdef, s)(x, train=False),
    state,
    jax.ShapeDtypeStruct((3, 4, 128, 128, 2), "uint16"),  # [B, T, H, W, 2] event counts
  )
  assert out.shape == (4, 3, 11)
  # Weights: 3·3·2·128 + 4·(3·3·128·128) convs, 2048·512 + 512 FC, 512·11 + 11 readout.
  weights = 3 * 3 * 2 * 128 + 4 * 3 * 3 * 128 * 128 + 2048 * 512 + 512 + 512 * 11 + 11
  bn = 5 * 2 * 128
  widths = 6  # one learnable width per LIF layer
  assert models.count_params(model) == weights + bn + widths


def test_mnist_main_end_to_end(tmp_path):
  r = run_python(
    [
      "-m",
      "experiments.mnist",
      f"--workdir={tmp_path}",
      "--config.num_train_steps=3",
      "--config.batch_size=32",
      "--config.export_nir=True",
    ]
  )
  assert r.returncode == 0, r.stderr[-3000:]
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
  assert summary["steps"] == 3 and summary["num_classes"] == 10
  assert "Embedded SNN test accuracy" in r.stdout
  config = json.loads((tmp_path / "config.json").read_text())  # the config as run
  assert config["num_train_steps"] == 3 and config["model"]["name"] == "mnist_cnn"
  # `python -m experiments.*` restarts itself with huge pages where they can be had
  tunables = os.environ.get("GLIBC_TUNABLES", "")
  expected = cpu.HUGEPAGE_TUNABLE in tunables or cpu.hugepage_env() is not None
  assert summary["host_hugepages"] is expected
  import nir

  graph = nir.read(tmp_path / "model.nir")
  assert sum(type(n).__name__ == "LIF" for n in graph.nodes.values()) == 2


@pytest.mark.parametrize("config", [None, "experiments/configs/randman.py"])
def test_a_misspelt_override_is_one_line_naming_the_field(tmp_path, config):
  main = "experiments.mnist" if config is None else "experiments.shd"
  args = ["-m", main, f"--workdir={tmp_path}", *([f"--config={config}"] if config else [])]
  r = run_python([*args, "--config.num_epoch=3"])
  assert r.returncode == 2
  lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("asgl_jax: restarting")]
  assert lines == [
    f'{main}: no such config field: \'num_epoch\' Did you mean "num_epochs" instead of "num_epoch"?'
  ]


def test_print_config_shows_every_field_with_the_overrides(tmp_path):
  r = run_python(["-m", "experiments.mnist", "--print_config", "--config.num_epochs=3"])
  assert r.returncode == 0, r.stderr[-2000:]
  assert "num_epochs: 3" in r.stdout and "name: mnist_subset" in r.stdout
  assert not list(tmp_path.iterdir())


def test_a_missing_optional_package_stops_the_main_before_training(tmp_path):
  code = f"""
import os, runpy, sys
os.environ["ASGL_JAX_HUGEPAGES"] = "0"  # no re-exec: keep the blocked import below
sys.modules["nir"] = None  # as if the nir extra were not installed
sys.argv = ["mnist", "--workdir={tmp_path}", "--config.export_nir=True"]
runpy.run_module("experiments.mnist", run_name="__main__")
"""
  r = run_python(["-c", code])
  assert r.returncode == 2, r.stderr[-2000:]
  assert "nir (extra 'nir')" in r.stderr and "pip install -e '.[nir]'" in r.stderr
  assert "Traceback" not in r.stderr
  assert not (tmp_path / "metrics.jsonl").exists()  # no step was run


def test_cifar_main_on_mock_data(tmp_path):
  code = f"""
import runpy, sys
import tensorflow_datasets as tfds
sys.argv = ["cifar", "--config=experiments/configs/cifar10_resnet18_t2.py", "--workdir={tmp_path}",
  "--config.model.name=resnet_tiny", "--config.batch_size=8", "--config.num_epochs=1",
  "--config.dataset.validation_size=8", "--config.protocol=paper", "--config.analysis_examples=0"]
with tfds.testing.mock_data(num_examples=24):
  runpy.run_module("experiments.cifar", run_name="__main__")
"""
  r = run_python(["-c", code])
  assert r.returncode == 0, r.stderr[-3000:]
  summary = json.loads((tmp_path / "summary.json").read_text())
  # the paper's protocol: one epoch over all 24 training examples, no validation anywhere
  assert summary["steps"] == 24 // 8 and summary["num_classes"] == 10
  assert summary["protocol"] == "paper" and not any(k.startswith("val") for k in summary)
  record = json.loads((tmp_path / "metrics.jsonl").read_text())
  assert not any(k.startswith("val") for k in record)


def test_seeds_main_reports_mean_and_std(tmp_path):
  r = run_python(
    [
      "-m",
      "experiments.seeds",
      "--config=experiments/configs/mnist.py",
      f"--workdir={tmp_path}",
      "--seeds=0,1",
      "--config.model.name=cnn_tiny",
      "--config.num_train_steps=2",
      "--config.batch_size=32",
      "--config.analysis_examples=0",
    ]
  )
  assert r.returncode == 0, r.stderr[-3000:]
  assert "| test_snn_accuracy |" in r.stdout and "±" in r.stdout
  stats = json.loads((tmp_path / "seeds.json").read_text())["statistics"]
  assert stats["test_snn_accuracy"]["n"] == 2
  assert sorted(p.name for p in tmp_path.glob("seed_*")) == ["seed_0", "seed_1"]


def test_cifar_main_without_data_fails_with_a_clear_message(tmp_path):
  r = run_python(
    [
      "-m",
      "experiments.cifar",
      "--config=experiments/configs/cifar100_resnet18_t2.py",
      f"--workdir={tmp_path}",
      f"--config.dataset.data_dir={tmp_path / 'nothing'}",
      "--config.dataset.download=False",
    ]
  )
  assert r.returncode == 2
  assert "cifar100" in r.stderr and "download_and_prepare" in r.stderr
  assert "Traceback" not in r.stderr


def test_autoencoder_main_trains_with_the_common_loop(tmp_path):
  """The autoencoder on full MNIST through tfds (``tfds.testing.mock_data``) runs each
  (method, width) through train_and_evaluate with task="reconstruct": one resumable workdir per
  run, PSNR as the evaluation score, and each ASGL run's widths per epoch (Fig. 3f, 5a)."""
  code = f"""
import runpy, sys
import tensorflow_datasets as tfds
sys.argv = ["autoencoder", "--config=experiments/configs/autoencoder_mnist.py",
  "--workdir={tmp_path}", "--config.dataset.name=mnist", "--config.dataset.validation_size=16",
  "--config.batch_size=16", "--config.num_train_steps=6", "--config.autoencoder.widths=(0.5,)",
  "--config.autoencoder.num_samples=2"]
with tfds.testing.mock_data(num_examples=64):
  runpy.run_module("experiments.autoencoder", run_name="__main__")
"""
  r = run_python(["-c", code])
  assert r.returncode == 0, r.stderr[-3000:]
  records = json.loads((tmp_path / "autoencoder.json").read_text())
  assert [rec["method"] for rec in records] == ["sg", "asgl"]
  for rec in records:
    run = json.loads((tmp_path / f"{rec['method']}_width0.5" / "summary.json").read_text())
    assert run["steps"] == 6 and run["test_snn_psnr"] == rec["psnr"]
    assert 0.0 < rec["psnr"] < 60.0 and -1.0 <= rec["ssim"] <= 1.0
    trajectory = rec["width_trajectory"]
    assert trajectory and all(len(w) == 2 for w in trajectory.values())  # 6 steps = 2 epochs
  asgl = records[1]["width_trajectory"]
  assert any(w[0] != w[1] for w in asgl.values())  # ASGL moves its widths
  assert "PSNR (dB) / SSIM" in (tmp_path / "autoencoder.md").read_text()
  assert (tmp_path / "widths.png").stat().st_size > 0


def _interrupt(tmp_path, wait_for: str, signals: int):
  """Starts the MNIST main, sends ``signals`` SIGINTs once ``wait_for`` appears on stderr (or
  at once when empty) and returns (exit status, stderr)."""
  import signal
  import subprocess
  import sys
  import threading
  import time

  from main_runner import ROOT

  args = ["-m", "experiments.mnist", f"--workdir={tmp_path}", "--config.model.name=cnn_tiny"]
  args += ["--config.batch_size=32", "--config.num_train_steps=400", "--config.log_every=1"]
  args += ["--config.analysis_examples=0"]
  proc = subprocess.Popen(
    [sys.executable, *args],
    cwd=ROOT,
    env=dict(os.environ, PYTHONPATH=ROOT, ASGL_JAX_HUGEPAGES="0"),
    stdout=subprocess.DEVNULL,
    stderr=subprocess.PIPE,
    text=True,
  )
  lines, seen = [], threading.Event()

  def read():
    for line in proc.stderr:
      lines.append(line)
      if wait_for and wait_for in line:
        seen.set()

  reader = threading.Thread(target=read, daemon=True)
  reader.start()
  if wait_for:
    assert seen.wait(240), "".join(lines)[-2000:]
  else:
    time.sleep(1.0)  # interpreter start and imports
  for _ in range(signals):
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
  proc.wait(timeout=240)
  reader.join(timeout=10)
  return proc.returncode, "".join(lines)


@pytest.mark.parametrize(
  "wait_for, signals, expect",
  [
    ("", 1, "interrupted while starting"),  # during the imports
    ("step 3/400", 1, "interrupted (Ctrl-C) at step"),  # training: finish the step, save, stop
    ("step 3/400", 2, "interrupted; checkpoints written so far are kept"),  # stops at once
  ],
)
def test_ctrl_c_stops_cleanly_and_the_run_resumes(tmp_path, wait_for, signals, expect):
  code, err = _interrupt(tmp_path, wait_for, signals)
  assert code == 130, err[-3000:]  # 128 + SIGINT: never a crash (negative: killed by a signal)
  assert expect in err and "Fatal Python error" not in err, err[-3000:]
  if signals == 1:  # (a second Ctrl-C may land in Orbax's wait, which logs its own traceback)
    assert "Traceback" not in err, err[-3000:]
  args = ["-m", "experiments.mnist", f"--workdir={tmp_path}", "--config.model.name=cnn_tiny"]
  args += ["--config.batch_size=32", "--config.num_train_steps=6", "--config.analysis_examples=0"]
  r = run_python(args)  # the same command again: resumes where a checkpoint was saved
  assert r.returncode == 0, r.stderr[-2000:]
  if expect.startswith("interrupted (Ctrl-C)"):
    assert "Resuming from step" in r.stderr
  if not wait_for:
    assert "Resuming from step" not in r.stderr
