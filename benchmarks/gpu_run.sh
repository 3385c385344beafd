#!/usr/bin/env bash
# The prepared GPU run of issue #6: workloads C (16,384 neurons) and D (ResNet-18, B = 128),
# then A256 and B, for asgl_jax against the PyTorch loop, spyx (A, C) and a plain JAX scan,
# after a short correctness check of the spike primitive and the neuron scans on the GPU.
#
#   bash benchmarks/gpu_run.sh fetch        # on a machine with pip and the internet: spyx and
#                                           # the packages it needs, as Python 3.12 wheels in .whl/
#   bash benchmarks/gpu_run.sh run [OUTDIR] # on the GPU machine (default OUTDIR: $OUT or ./gpu_out)
#   bash benchmarks/gpu_run.sh smoke [OUTDIR]  # a second call: the largest full-scale config of
#                                           # each family, two steps at its own batch, peak memory
#   bash benchmarks/gpu_run.sh compile [OUTDIR]  # a third: four configs' steps compiled alone in
#                                           # float32 and bfloat16, compile time, memory_analysis()
#
# The GPU machines lent to this project run an image with jax[cuda], flax, optax, orbax and
# PyTorch but cannot reach the network: spyx travels as wheels in .whl/ (installed with
# --no-deps into /tmp/site), asgl_jax runs from the checkout (PYTHONPATH). Everything ends
# within about 9 minutes (timeouts below) so that one device call of at most 10 fits; the
# table, the JSON rows and the test summary land in OUTDIR.
#
# Overrides (e.g. a CPU smoke run of this script):
#   WORKLOADS=C,D,A256,B IMPLS=ours,ours_f32,jax_scan,torch_loop,spyx REPEATS=10 ROUNDS=1
#   BENCH_TIMEOUT=400 TEST_TIMEOUT=120
set -uo pipefail
cd "$(dirname "$0")/.."

fetch() {
  mkdir -p .whl
  if [ -d .git ] && ! grep -qx '/.whl/' .git/info/exclude 2>/dev/null; then
    echo '/.whl/' >>.git/info/exclude
  fi
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    spyx==1.0.0 nir==1.0.8 jax-tqdm==0.4.0 grain==0.2.18 array-record==0.8.6 portpicker==1.6.0
  ls -l .whl
}

run() {
  local out=${1:-${OUT:-gpu_out}}
  mkdir -p "$out"
  if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
  fi
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  export XLA_PYTHON_CLIENT_PREALLOCATE=false
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    python3 -c "import jax, flax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__)"
    python3 -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"
  } 2>&1 | tee "$out/machine.txt"
  # The maths on this backend first: formula tests of the spike and the neuron scans
  # (against float64 sums: full float32 products, no TF32).
  JAX_DEFAULT_MATMUL_PRECISION=highest timeout "${TEST_TIMEOUT:-120}" \
    python3 -m pytest -q -p no:cacheprovider \
    tests/test_spiking.py tests/test_neurons.py 2>&1 | tail -15 | tee "$out/tests.txt"
  timeout "${BENCH_TIMEOUT:-400}" python3 benchmarks/snn_training.py \
    --workloads "${WORKLOADS:-C,D,A256,B}" \
    --impls "${IMPLS:-ours,ours_f32,jax_scan,torch_loop,spyx}" \
    --repeats "${REPEATS:-10}" --rounds "${ROUNDS:-1}" --warmup 3 \
    --json "$out/gpu.json" 2>&1 | tee "$out/table.txt"
}

smoke() {
  local out=${1:-${OUT:-gpu_out}}
  mkdir -p "$out"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  export XLA_PYTHON_CLIENT_PREALLOCATE=false
  # About 1 minute per config (start, compile, two steps); DVS Gesture may not fit its batch 16.
  timeout "${SMOKE_TIMEOUT:-540}" python3 benchmarks/full_scale_smoke.py \
    --configs "${SMOKE_CONFIGS:-cifar10_resnet18_t4,cifar100_cifarnet_t4,cifar10_resnet19_t3_width,tinyimagenet_vgg13_t8,dvs_cifar10,shd,medlydb,dvs_gesture}" \
    --timeout "${SMOKE_CONFIG_TIMEOUT:-150}" --json "$out/smoke.json" 2>&1 | tee "$out/smoke.txt"
}

compile() {
  local out=${1:-${OUT:-gpu_out}}
  mkdir -p "$out"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  export XLA_PYTHON_CLIENT_PREALLOCATE=false
  # Each step compiled alone in float32 and bfloat16: compile time and XLA's memory_analysis().
  timeout "${COMPILE_TIMEOUT:-480}" python3 benchmarks/full_scale_smoke.py \
    --configs "${COMPILE_CONFIGS:-cifar10_resnet18_t4,dvs_cifar10,shd,dvs_gesture}" \
    --compile_only float32,bfloat16 --timeout "${SMOKE_CONFIG_TIMEOUT:-150}" \
    --json "$out/compile.json" 2>&1 | tee "$out/compile.txt"
}

case "${1:-}" in
  fetch) fetch ;;
  run) shift; run "$@" ;;
  smoke) shift; smoke "$@" ;;
  compile) shift; compile "$@" ;;
  *) echo "usage: bash benchmarks/gpu_run.sh fetch | run [OUTDIR] | smoke [OUTDIR] | compile [OUTDIR]" >&2; exit 2 ;;
esac
