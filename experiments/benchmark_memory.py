"""Peak memory of a converted GCN on a large graph, in one pass and in chunks of steps.

Reproduce the committed results:

    python experiments/benchmark_memory.py --output experiments/results/benchmark_memory.md

A random graph (``--nodes`` nodes, ``--degree`` random edges per node, made undirected,
``--features`` uniform random features, seed 0) and an untrained 3-layer GCN (hidden
``--hidden``, ReLU, seed 0) converted with ``rate`` at ``--T`` steps, calibrated on the
graph itself (``check=False``: the agreement check would be one more full run). Each
setting runs in a fresh subprocess, so its peak resident memory (``VmHWM``, reset before the
call after glibc's ``malloc_trim``) is its own:

- the SNN in one pass (every layer holds all T steps of all nodes);
- the same SNN with ``steps_per_chunk`` set to each of ``--chunks``;
- the chunk size that ``SpikingNetwork.plan_chunks`` picks for ``--budget-mb``.

Reported: peak memory of the process, its growth during the SNN call (peak after the call
minus peak before it), time of the call relative to the one pass, and the largest absolute
difference of the logits from the one pass (0: the chunked run is the same computation).
Times are ratios within one run; the machine may be shared. No dataset is needed. Writes
``--output`` (default: a new ``benchmark_memory-<UTC time>.md`` in the current folder, so that
committed results change only when asked). ``gsnn bench memory`` runs the same code.
"""

import argparse
import ctypes
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch_geometric.utils import to_undirected

import gsnn
from gsnn.ann import GCN


def process_mb(key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process from /proc, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {key}")


def reset_peak() -> None:
    """Return freed memory to the system (glibc's ``malloc_trim``), then make ``VmHWM`` start
    again from the current resident size (Linux >= 4.0)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def build(args):
    """The random graph and the converted SNN, identical in every subprocess."""
    torch.manual_seed(0)
    x = torch.rand(args.nodes, args.features)
    edge_index = to_undirected(torch.randint(0, args.nodes, (2, args.degree * args.nodes)))
    model = GCN(args.features, args.hidden, args.classes, num_layers=3).eval()
    snn = gsnn.convert(model, (x, edge_index), method="rate", T=args.T, check=False)
    return model, snn, x, edge_index


def worker(args) -> None:
    """One setting: build, measure one call, print a JSON line, save the logits."""
    torch.set_num_threads(args.threads)
    model, snn, x, edge_index = build(args)
    if args.plan_mb:
        snn.plan_chunks(args.plan_mb * 2**20, x, edge_index)
    else:
        snn.steps_per_chunk = args.chunk
    snn.record_stats = False
    call = model if args.ann else snn
    reset_peak()
    before = process_mb("VmRSS")
    started = time.perf_counter()
    with torch.no_grad():
        logits = call(x, edge_index)
    seconds = time.perf_counter() - started
    torch.save(logits, args.save)
    result = {
        "steps_per_chunk": None if args.ann else snn.steps_per_chunk,
        "bytes_per_step": snn.bytes_per_step(x, edge_index),
        "growth_mb": process_mb("VmHWM") - before,
        "seconds": seconds,
    }
    print(json.dumps(result))


def run_setting(args, extra, folder, name):
    save = Path(folder) / f"{name}.pt"
    command = [sys.executable, __file__, "--worker", "--save", str(save), *extra]
    for option in ("nodes", "degree", "features", "hidden", "classes", "T", "threads"):
        command += [f"--{option}", str(getattr(args, option))]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["logits"] = torch.load(save)
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared with ``gsnn bench memory``)."""
    parser.add_argument("--nodes", type=int, default=50_000, help="nodes of the random graph")
    parser.add_argument("--degree", type=int, default=10, help="random edges per node")
    parser.add_argument("--features", type=int, default=128, help="input features")
    parser.add_argument("--hidden", type=int, default=128, help="hidden width of the GCN")
    parser.add_argument("--classes", type=int, default=8, help="output classes")
    parser.add_argument("--T", type=int, default=32, help="time steps")
    parser.add_argument(
        "--chunks", type=int, nargs="+", default=[16, 8, 4, 1], help="steps_per_chunk settings"
    )
    parser.add_argument("--budget-mb", type=int, default=1024, help="memory budget of plan_chunks")


def measure(args) -> list:
    """Run every setting in its own process; return ``(label, result)`` pairs."""
    settings = [("SNN, one pass", [])]
    settings += [(f"SNN, steps_per_chunk = {c}", ["--chunk", str(c)]) for c in args.chunks]
    settings += [(f"SNN, plan_chunks({args.budget_mb} MiB)", ["--plan-mb", str(args.budget_mb)])]
    settings += [("ANN forward (PyG GCNConv)", ["--ann"])]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for index, (label, extra) in enumerate(settings):
            result = run_setting(args, extra, folder, f"setting{index}")
            shown = {k: v for k, v in result.items() if k != "logits"}
            print(label, shown, file=sys.stderr, flush=True)
            rows.append((label, result))
    reference = rows[0][1]
    for label, result in rows:
        result["time_over_one_pass"] = result["seconds"] / reference["seconds"]
        if not label.startswith("ANN"):
            difference = (result["logits"] - reference["logits"]).abs().max()
            result["max_abs_logit_difference"] = float(difference)
    for _, result in rows:
        del result["logits"]
    return rows


def markdown(args, rows: list) -> str:
    """The results page of one run."""
    per_step_mb = rows[0][1]["bytes_per_step"] / 2**20
    lines = [
        "# Peak memory: one pass against chunks of steps",
        "",
        f"Produced by `python experiments/benchmark_memory.py` (defaults: {args.nodes:,} nodes, "
        f"{args.degree} random edges per node made undirected, {args.features} features, "
        f"3-layer GCN hidden {args.hidden}, untrained, ReLU, `rate`, T = {args.T}, "
        f"{args.threads} thread(s), seed 0). Each row is a fresh process. *memory* = peak "
        "resident memory during the call minus the resident memory just before it (Linux "
        "`VmHWM`, reset before the call, after glibc's `malloc_trim` returned freed memory), "
        "i.e. what the call itself needs; *time* relative "
        "to the SNN's one pass, measured in the same run on a machine that may be shared; "
        "*max |Δ logits|* against the SNN's one pass. `bytes_per_step` estimates "
        f"{per_step_mb:.1f} MiB per simulated step for this graph.",
        "",
        "| call | steps per pass | memory (MiB) | time | max abs Δ logits |",
        "|---|---|---|---|---|",
    ]
    for label, result in rows:
        if label.startswith("ANN"):
            chunk, difference = "–", "–"
        else:
            chunk = result["steps_per_chunk"] or args.T
            difference = f"{result['max_abs_logit_difference']:.1e}"
        lines.append(
            f"| {label} | {chunk} | {result['growth_mb']:.0f} | "
            f"{result['time_over_one_pass']:.2f}× | {difference} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every setting")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="markdown file to write; pass experiments/results/benchmark_memory.md to refresh "
        "the committed results (default: a new benchmark_memory-<UTC time>.md in the current "
        "folder)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--plan-mb", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--ann", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--save", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    output = args.output or Path(f"benchmark_memory-{time.strftime('%Y%m%d-%H%M%S')}.md")
    output.write_text(markdown(args, measure(args)))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
