#!/usr/bin/env bash
# The prepared GPU run: the formula tests on the GPU, then the ResNet-18 CIFAR-10 step (T = 2,
# B = 128, synthetic data) for 100 steps in float32 and bfloat16 against the PyTorch loop on
# cuda (also under autocast), workload C (16,384 neurons) and A256 against spyx, a plain JAX
# scan and PyTorch, the CIFAR-10 input pipeline feeding the ResNet-18 step (data wait per
# step), and the host pipeline's images/s on 1 and all cores.
#
#   bash benchmarks/gpu_run.sh fetch        # on a machine with pip and the internet: spyx and
#                                           # the packages it needs, as Python 3.12 wheels in .whl/
#   bash benchmarks/gpu_run.sh run [OUTDIR] # on the GPU machine (default OUTDIR: $OUT or ./gpu_out)
#   bash benchmarks/gpu_run.sh smoke [OUTDIR]  # a second call: the largest full-scale config of
#                                           # each family, two steps at its own batch, peak memory
#   bash benchmarks/gpu_run.sh compile [OUTDIR]  # a third: four configs' steps compiled alone in
#                                           # float32 and bfloat16, compile time, memory_analysis()
#   bash benchmarks/gpu_run.sh dry [OUTDIR] # on a CPU: run, smoke and compile end to end at
#                                           # small sizes (so the GPU run does not fail on a typo)
#
# The GPU machines lent to this project run an image with jax[cuda], flax, optax, orbax and
# PyTorch but cannot reach the network: spyx travels as wheels in .whl/ (installed with
# --no-deps into /tmp/site), asgl_jax runs from the checkout (PYTHONPATH). Each call ends
# within about 9 minutes (timeouts below) so that one device call of at most 10 fits. Every
# part writes its table and JSON rows to OUTDIR; results.md and results.jsonl there collect
# them all (the file benchmarks/RESULTS.md quotes).
#
# Overrides (dry sets small ones; PYTHON: the interpreter, dry's default .venv/bin/python):
#   WORKLOADS=C,A256 IMPLS=ours,jax_scan,torch_loop,spyx REPEATS=10 C_NEURONS=0 (16384 on a GPU)
#   D_IMPLS=ours,ours_bf16,torch_loop,torch_loop_bf16 D_REPEATS=100 D_BATCH=128
#   WAIT_STEPS=60 EPOCH_STEPS=20 PIPE_BATCHES=30 PIPE_CORES=1,<all> TEST_ARGS= (extra pytest arguments)
#   TEST_TIMEOUT=120 BENCH_TIMEOUT=180 D_TIMEOUT=120 WAIT_TIMEOUT=90 PIPE_TIMEOUT=60
#   SMOKE_CONFIGS=... COMPILE_CONFIGS=... SMOKE_BATCH=0 (each config's own)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

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

setup() {
  if ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  export XLA_PYTHON_CLIENT_PREALLOCATE=false TF_CPP_MIN_LOG_LEVEL=2
}

# Appends one part's table to results.md and its JSON rows to results.jsonl.
collect() {
  local out=$1 title=$2 table=$3 rows=$4
  { echo "## $title"; echo; grep -E '^\||×$' "$out/$table" 2>/dev/null; echo; } \
    >>"$out/results.md"
  [ -f "$out/$rows" ] && "$PY" -c '
import json, sys
text = open(sys.argv[1]).read().strip()
try:
  rows = json.loads(text)  # one document: a list of rows, or {"rows": [...], ...}
except ValueError:
  rows = [json.loads(x) for x in text.splitlines()]  # JSON lines
rows = rows.get("rows", [rows]) if isinstance(rows, dict) else rows
print("\n".join(json.dumps({"part": sys.argv[2], **r}) for r in rows))' \
    "$out/$rows" "${rows%.json}" >>"$out/results.jsonl"
  return 0
}

run() {
  local out=${1:-${OUT:-gpu_out}}
  mkdir -p "$out"
  setup
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
    "$PY" -c "import jax, flax; print('jax', jax.__version__, jax.devices(), 'flax', flax.__version__)"
    "$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"
  } 2>&1 | tee "$out/machine.txt"
  { echo "# GPU run $(date -u +%FT%TZ)"; echo; echo '```'; cat "$out/machine.txt"; echo '```'; echo; } \
    >"$out/results.md"
  : >"$out/results.jsonl"
  # The maths on this backend first: formula tests of the spike and the neuron scans
  # (against float64 sums: full float32 products, no TF32).
  JAX_DEFAULT_MATMUL_PRECISION=highest timeout "${TEST_TIMEOUT:-120}" \
    "$PY" -m pytest -q -p no:cacheprovider ${TEST_ARGS:-} \
    tests/test_spiking.py tests/test_neurons.py 2>&1 | tail -15 | tee "$out/tests.txt"
  { echo "## Formula tests"; echo; echo '```'; tail -3 "$out/tests.txt"; echo '```'; echo; } \
    >>"$out/results.md"
  # ResNet-18, CIFAR-10, T = 2: float32 and bfloat16, against PyTorch (float32 and autocast).
  timeout "${D_TIMEOUT:-120}" "$PY" benchmarks/snn_training.py --workloads D \
    --impls "${D_IMPLS:-ours,ours_bf16,torch_loop,torch_loop_bf16}" \
    --repeats "${D_REPEATS:-100}" --rounds 1 --warmup 3 --d-batch "${D_BATCH:-128}" \
    --json "$out/resnet18.json" 2>&1 | tee "$out/resnet18.txt"
  collect "$out" "ResNet-18 step (workload D)" resnet18.txt resnet18.json
  timeout "${BENCH_TIMEOUT:-180}" "$PY" benchmarks/snn_training.py \
    --workloads "${WORKLOADS:-C,A256}" \
    --impls "${IMPLS:-ours,jax_scan,torch_loop,spyx}" \
    --repeats "${REPEATS:-10}" --rounds 1 --warmup 3 --c-neurons "${C_NEURONS:-0}" \
    --json "$out/gpu.json" 2>&1 | tee "$out/table.txt"
  collect "$out" "Workloads C and A256" table.txt gpu.json
  # The CIFAR-10 pipeline (mock data, AutoAugment) feeding the ResNet-18 step.
  timeout "${WAIT_TIMEOUT:-90}" "$PY" benchmarks/data_wait.py --step resnet18 \
    --pipelines cifar10 --batch_size "${D_BATCH:-128}" --steps "${WAIT_STEPS:-60}" \
    --epoch_steps "${EPOCH_STEPS:-20}" \
    --warmup 5 --rounds 1 --json "$out/data_wait.json" 2>&1 | tee "$out/data_wait.txt"
  collect "$out" "Input pipeline feeding the ResNet-18 step" data_wait.txt data_wait.json
  timeout "${PIPE_TIMEOUT:-60}" "$PY" benchmarks/input_pipeline.py \
    --pipelines cifar10,cifar10_no_autoaugment --cores "${PIPE_CORES:-1,$(nproc)}" \
    --batches "${PIPE_BATCHES:-30}" --rounds 1 --json "$out/pipeline.json" \
    2>&1 | tee "$out/pipeline.txt"
  collect "$out" "Host input pipeline" pipeline.txt pipeline.json
  echo "results: $out/results.md, $out/results.jsonl"
}

smoke() {
  local out=${1:-${OUT:-gpu_out}}
  mkdir -p "$out"
  setup
  # About 1 minute per config (start, compile, two steps); DVS Gesture may not fit its batch 16.
  timeout "${SMOKE_TIMEOUT:-540}" "$PY" benchmarks/full_scale_smoke.py \
    --configs "${SMOKE_CONFIGS:-cifar10_resnet18_t4,cifar100_cifarnet_t4,cifar10_resnet19_t3_width,tinyimagenet_vgg13_t8,dvs_cifar10,shd,medlydb,dvs_gesture}" \
    --timeout "${SMOKE_CONFIG_TIMEOUT:-150}" --batch_size "${SMOKE_BATCH:-0}" \
    --json "$out/smoke.json" 2>&1 | tee "$out/smoke.txt"
  collect "$out" "Full-scale smoke (two steps per config)" smoke.txt smoke.json
}

compile() {
  local out=${1:-${OUT:-gpu_out}}
  mkdir -p "$out"
  setup
  # Each step compiled alone in float32 and bfloat16: compile time and XLA's memory_analysis().
  timeout "${COMPILE_TIMEOUT:-480}" "$PY" benchmarks/full_scale_smoke.py \
    --configs "${COMPILE_CONFIGS:-cifar10_resnet18_t4,dvs_cifar10,shd,dvs_gesture}" \
    --compile_only float32,bfloat16 --timeout "${SMOKE_CONFIG_TIMEOUT:-150}" \
    --batch_size "${SMOKE_BATCH:-0}" \
    --json "$out/compile.json" 2>&1 | tee "$out/compile.txt"
  collect "$out" "Compile time and memory_analysis()" compile.txt compile.json
}

# Everything above on this machine's CPU at small sizes: what the GPU run will execute, minus
# the sizes and the device.
dry() {
  local out=${1:-dry_out}
  [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
  export JAX_PLATFORMS=cpu CUDA_VISIBLE_DEVICES=""
  export D_REPEATS=${D_REPEATS:-2} D_BATCH=${D_BATCH:-8} REPEATS=${REPEATS:-2}
  export C_NEURONS=${C_NEURONS:-256} WORKLOADS=${WORKLOADS:-C}
  export WAIT_STEPS=${WAIT_STEPS:-8} EPOCH_STEPS=${EPOCH_STEPS:-3} PIPE_BATCHES=${PIPE_BATCHES:-3} PIPE_CORES=${PIPE_CORES:-1}
  export TEST_ARGS=${TEST_ARGS:--x} SMOKE_BATCH=${SMOKE_BATCH:-2}
  export SMOKE_CONFIGS=${SMOKE_CONFIGS:-shd,cifar10_resnet18_t4} COMPILE_CONFIGS=${COMPILE_CONFIGS:-shd}
  export TEST_TIMEOUT=${TEST_TIMEOUT:-600} D_TIMEOUT=${D_TIMEOUT:-600} WAIT_TIMEOUT=${WAIT_TIMEOUT:-600}
  export BENCH_TIMEOUT=${BENCH_TIMEOUT:-600} PIPE_TIMEOUT=${PIPE_TIMEOUT:-600}
  run "$out" && smoke "$out" && compile "$out"
}

case "${1:-}" in
  fetch) fetch ;;
  run) shift; run "$@" ;;
  smoke) shift; smoke "$@" ;;
  compile) shift; compile "$@" ;;
  dry) shift; dry "$@" ;;
  *) echo "usage: bash benchmarks/gpu_run.sh fetch | run | smoke | compile | dry [OUTDIR]" >&2; exit 2 ;;
esac
