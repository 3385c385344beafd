"""Training steps with and without transparent huge pages for malloc's large buffers.

    python benchmarks/host_malloc.py [--workloads B,A64,A256] [--impls ours,torch_loop]
        [--rounds 3] [--repeats 8] [--keep-freed]

XLA:CPU (and PyTorch's CPU allocator) get a step's large buffers from glibc's malloc, which
maps allocations above 32 MiB with ``mmap`` and unmaps them when they are freed: every step
faults those pages in again, 4 KiB at a time, and the kernel zeroes each one.
``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35) makes malloc ask for transparent
huge pages on its mappings (``madvise(MADV_HUGEPAGE)``): up to 512 times fewer faults.
``asgl_jax.train.relaunch_with_hugepages`` restarts the experiment mains with it.
``--keep-freed`` adds a third setting, not used by the library: malloc keeps freed memory in
the process (``KEEP_FREED``: one arena, no ``mmap``, no trimming), so a step reuses the pages
of the one before and faults nothing in.

Each (workload, implementation, setting) runs in its own subprocess through
``snn_training.py``'s worker (same steps, same timing), the settings and implementations
interleaved in ``--rounds`` rounds; the table gives the median over rounds and the spread,
the page faults and kernel CPU time (both threads) per timed step, and the RSS high-water
marks (with and without compilation, as in ``snn_training.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import snn_training

from asgl_jax import train

# glibc's environment settings: every allocation from the main heap (one arena, mmap never
# used), and the heap never trimmed (16 GiB threshold).
KEEP_FREED = {
  "MALLOC_ARENA_MAX": "1",
  "MALLOC_MMAP_MAX_": "0",
  "MALLOC_TRIM_THRESHOLD_": str(16 << 30),
}


def main():
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--workloads", default="B,A64,A256")
  ap.add_argument("--impls", default="ours,torch_loop")
  ap.add_argument("--rounds", type=int, default=3)
  ap.add_argument("--repeats", type=int, default=8)
  ap.add_argument("--warmup", type=int, default=3)
  ap.add_argument("--c-neurons", type=int, default=2048)
  ap.add_argument("--json", default="")
  ap.add_argument("--keep-freed", action="store_true", help="also time KEEP_FREED")
  args = ap.parse_args()
  plain = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "ASGL_JAX_HUGEPAGES")}
  huge = train.hugepage_env(plain)
  if huge is None:
    sys.exit("host_malloc.py: transparent huge pages through glibc are not available here")
  settings = {"default malloc": plain, "glibc.malloc.hugetlb=1": huge}
  if args.keep_freed:
    settings["freed memory kept"] = {**plain, **KEEP_FREED}
  print(f"# {json.dumps(snn_training.versions())}")
  rows = []
  for workload in args.workloads.split(","):
    impls = [i for i in args.impls.split(",") if i in snn_training.SUPPORTED[workload]]
    runs = {(i, s): [] for i in impls for s in settings}
    for _ in range(args.rounds):
      for impl in impls:
        for name, env in settings.items():
          runs[impl, name].append(snn_training.run_worker(workload, impl, args, env=env))
    for (_, name), rounds in runs.items():
      row = snn_training.combine(rounds)
      row["setting"] = name
      rows.append(row)
  print(
    "| workload | implementation | malloc | ms / step | spread | vs default malloc | "
    "page faults / step | kernel CPU ms / step | peak RSS MiB | step RSS MiB |"
  )
  print("|" + "---|" * 10)
  base = {(r["workload"], r["impl"]): r["ms"] for r in rows if r["setting"] == "default malloc"}
  for r in rows:
    if "error" in r:
      print(f"| {r['workload']} | {r['impl']} | {r.get('setting', '')} | failed: {r['error']} |")
      continue
    ratio = r["ms"] / base[r["workload"], r["impl"]]
    print(
      f"| {r['workload']} | {r['impl']} | {r['setting']} | {r['ms']:.1f} | "
      f"{100 * r['spread']:.0f} % | {ratio:.3f}× | {r['faults_per_step']:.0f} | "
      f"{r['kernel_ms_per_step']:.0f} | {r['peak_rss_mib']:.0f} | {r['step_rss_mib']:.0f} |"
    )
  if args.json:
    with open(args.json, "w") as f:
      json.dump({"rows": rows, "args": vars(args)}, f, indent=2)


if __name__ == "__main__":
  main()
