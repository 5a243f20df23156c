"""The memory estimate behind ``plan_chunks`` against the peak memory of real calls.

Reproduce the committed results:

    python experiments/benchmark_memory_plan.py --nodes 200000 --budgets-mb 1100 650 480 400 \\
        --output experiments/results/benchmark_memory_plan.md

A random graph (``--nodes`` nodes, ``--degree`` random edges per node, ``--features``
uniform features, seed ``--seed``) and gsnn's reference GCN ``features-64-10`` with QCFS
(L = T), untrained, converted with qcfs at ``--T`` (calibrated on the subgraph induced by
``--calibration-nodes`` nodes), as in ``benchmark_scale.py``. Every row runs in a fresh
process on one torch thread: it measures ``SpikingNetwork.memory_estimate`` on the whole
graph, sets the row's ``steps_per_chunk`` and ``nodes_per_block`` (or lets
``plan_chunks`` choose them for a budget), calls the SNN once (so that the previous
call's states and step logits are alive, as the estimate assumes), then measures a second
call: its peak resident memory (``VmHWM``, reset before the call) minus the resident
memory just before it, after ``gc.collect()`` and glibc's ``malloc_trim(0)``. Each row runs
twice: with glibc's default allocator settings and with ``MALLOC_MMAP_THRESHOLD_`` fixed
at 128 KiB. The estimate is reported without headroom; *measured / estimate* is what a
headroom has to cover.
"""

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch_geometric.data import Data

import gsnn
from gsnn.ann import GCN

MIB = 2**20
# MALLOC_MMAP_THRESHOLD_ of the second measurement: glibc's initial threshold, kept fixed
MMAP_THRESHOLD = 131072


def status_mib(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {key} (Linux only)")


def settle() -> float:
    """Free what can be freed, restart the peak from here and return the resident MiB."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return status_mib("VmRSS")


def worker(args) -> dict:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    edge_index = torch.randint(args.nodes, (2, args.degree * args.nodes), generator=generator)
    x = torch.rand(args.nodes, args.features, generator=generator)
    torch.manual_seed(args.seed)
    model = GCN(args.features, 64, 10, activation="qcfs", qcfs_levels=args.T).eval()
    with torch.no_grad():
        snn = gsnn.convert(
            model,
            Data(x=x, edge_index=edge_index),
            T=args.T,
            calibration_nodes=args.calibration_nodes,
            calibration_hops=0,
        )
        snn.record_stats = False
        started = time.process_time()
        estimate = snn.memory_estimate(x, edge_index)
        if args.budget_mb is not None:
            plan = estimate.plan(args.budget_mb * MIB)
            chunk, block, estimated = (
                plan.steps_per_chunk,
                plan.nodes_per_block,
                plan.estimated_bytes,
            )
        else:
            chunk, block = args.steps_per_chunk, args.nodes_per_block
            estimated = estimate.peak_bytes(chunk, block)
        estimate_cpu_s = time.process_time() - started
        snn.steps_per_chunk, snn.nodes_per_block = chunk, block
        snn(x, edge_index)
        before = settle()
        started = time.process_time()
        snn(x, edge_index)
        call_cpu_s = time.process_time() - started
        measured = status_mib("VmHWM") - before
    return {
        "steps_per_chunk": snn.steps_per_chunk,
        "nodes_per_block": snn.nodes_per_block,
        "estimate_mib": estimated / MIB,
        "measured_mib": measured,
        "estimate_cpu_s": estimate_cpu_s,
        "call_cpu_s": call_cpu_s,
    }


def rows_to_run(args) -> list:
    """``(label, extra arguments)`` of every row."""
    rows = []
    for setting in args.settings:
        chunk, _, block = setting.partition(":")
        label = "one pass" if int(chunk) >= args.T else f"steps_per_chunk = {chunk}"
        extra = ["--steps-per-chunk", chunk]
        if block:
            label += f", nodes_per_block = {int(block):,}"
            extra += ["--nodes-per-block", block]
        rows.append((label, extra))
    for budget in args.budgets_mb:
        rows.append((f"plan_chunks({budget:,} MiB)", ["--budget-mb", str(budget)]))
    return rows


def markdown(args, results: list) -> str:
    command = (
        f"python experiments/benchmark_memory_plan.py --nodes {args.nodes} --degree "
        f"{args.degree} --features {args.features} --T {args.T} --calibration-nodes "
        f"{args.calibration_nodes} --seed {args.seed} --settings {' '.join(args.settings)}"
        f" --budgets-mb {' '.join(map(str, args.budgets_mb))}"
    )
    lines = [
        "# The memory estimate of plan_chunks against real calls",
        "",
        f"Produced by `{command}` (random graph, {args.nodes:,} nodes, {args.degree} edges "
        f"per node, GCN {args.features}-64-10 with QCFS L = T, untrained, method qcfs, "
        f"T = {args.T}, analog input, statistics off, 1 torch thread, one fresh process per "
        "row). *estimate*: `SpikingNetwork.memory_estimate(x, edge_index).peak_bytes(...)` "
        "for the row's settings (or `.plan(budget)`'s choice), without headroom; its CPU s "
        "include the probes it runs and building the cached adjacency. *measured*: peak "
        "resident memory of the second call minus the resident memory just before it "
        "(`VmHWM` after `malloc_trim`), with glibc's default allocator settings and with "
        f"`MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}` (every allocation of 128 KiB or more is "
        "mapped on its own and unmapped when freed; by default glibc raises that threshold "
        "up to 32 MiB after the first large free and serves smaller tensors from its heap, "
        "which keeps freed memory resident). CPU s: `time.process_time` (default "
        "allocator); the machine is shared.",
        "",
        "| call | steps per chunk | nodes per block | estimate (MiB) | measured, default "
        "(MiB) | measured / estimate | measured, fixed threshold (MiB) | measured / estimate "
        "| estimate CPU s | call CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, (result, fixed) in results:
        estimate = result["estimate_mib"]
        lines.append(
            f"| {label} | {result['steps_per_chunk'] or args.T} | "
            f"{result['nodes_per_block'] or 'all'} | {estimate:.0f} | "
            f"{result['measured_mib']:.0f} | {result['measured_mib'] / estimate:.2f} | "
            f"{fixed['measured_mib']:.0f} | {fixed['measured_mib'] / estimate:.2f} | "
            f"{result['estimate_cpu_s']:.1f} | {result['call_cpu_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--degree", type=int, default=10, help="random edges per node")
    parser.add_argument("--features", type=int, default=128, help="input features")
    parser.add_argument("--T", type=int, default=8, help="time steps (and QCFS levels)")
    parser.add_argument("--calibration-nodes", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--settings",
        nargs="*",
        default=["8", "4", "2", "1", "4:50000", "2:50000"],
        help="rows of fixed settings: steps_per_chunk, or steps_per_chunk:nodes_per_block",
    )
    parser.add_argument(
        "--budgets-mb", type=int, nargs="*", default=[], help="plan_chunks rows (MiB)"
    )
    parser.add_argument("--output", default=None, help="markdown file to write")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps-per-chunk", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--nodes-per-block", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--budget-mb", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    results = []
    for label, extra in rows_to_run(args):
        argv = [sys.executable, __file__, "--worker", *extra]
        for option in ("nodes", "degree", "features", "T", "calibration_nodes", "seed"):
            argv += [f"--{option.replace('_', '-')}", str(getattr(args, option))]
        runs = []
        for threshold in (None, MMAP_THRESHOLD):  # glibc's default, then a fixed threshold
            env = dict(os.environ)
            env.pop("MALLOC_MMAP_THRESHOLD_", None)
            if threshold is not None:
                env["MALLOC_MMAP_THRESHOLD_"] = str(threshold)
            done = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        results.append((label, runs))
        print(label, runs, file=sys.stderr, flush=True)
    text = markdown(args, results)
    output = args.output or f"benchmark_memory_plan-{time.strftime('%Y%m%d-%H%M%S')}.md"
    Path(output).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
