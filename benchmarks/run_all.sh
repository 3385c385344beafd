#!/usr/bin/env bash
# One command for every benchmark: makes a venv with asgl_jax and the competitors
# (PyTorch 2.13.0 CPU, SpikingJelly, snnTorch, spyx), then runs
#   snn_training.py  (workloads A64, A256, B, C: one table, also written to results.json)
#   scan_memory.py   (checkpointed vs plain neuron scan at T = 250)
#   spike_primitive.py
#   spike_matmul.py   (event-driven vs dense input projection by spike density)
#   mask_cost.py      (ASGL mask and learned width vs plain SG, interleaved in one process)
#   lowering_ab.py    (two of the library's CPU lowering choices undone in turn, one process)
#   xla_options.py    (train.compiler_options() vs XLA's defaults, one process)
#   conv_layers.py    (workload B's convolutions one by one, XLA vs PyTorch)
#   host_malloc.py    (B, A64, A256 with and without huge pages for malloc, every implementation)
# Usage: bash benchmarks/run_all.sh [extra snn_training.py flags, e.g. --repeats 20]
# On a GPU machine: benchmarks/gpu_run.sh (workloads C, D, A256, B; C uses 16,384 neurons there).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BENCH_VENV:-.bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e . -r benchmarks/requirements.txt
fi
PY="$VENV/bin/python"
"$PY" benchmarks/snn_training.py --json benchmarks/results.json "$@"
"$PY" benchmarks/scan_memory.py
"$PY" benchmarks/spike_primitive.py
"$PY" benchmarks/spike_matmul.py
"$PY" benchmarks/mask_cost.py
"$PY" benchmarks/lowering_ab.py
"$PY" benchmarks/xla_options.py
"$PY" benchmarks/conv_layers.py
"$PY" benchmarks/host_malloc.py
