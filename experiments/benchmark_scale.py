"""Time and peak memory of converting and running a GCN SNN on large random graphs.

Reproduce the committed results:

    python experiments/benchmark_scale.py --nodes 250000 1000000 --calibration-hops 0 \
        --output experiments/results/benchmark_scale.md
    python experiments/benchmark_scale.py --nodes 1000000 2000000 4000000 --calibration-hops 0 \
        --steps-per-chunk 2 --nodes-per-block 262144 --ann-max-nodes 2000000 \
        --output experiments/results/benchmark_scale_chunked.md

Every graph has ``--degree`` random edges per node (sources and targets drawn uniformly,
seed ``--seed``) and ``--features`` uniform features; the model is gsnn's reference GCN
``features-64-10`` with QCFS (L = T), untrained (weights from the seed), converted with
qcfs at ``--T``. Each graph size runs in a fresh process on one torch thread, which
measures, one phase after the other: the PyG ANN forward, the conversion (calibration on
``--calibration-nodes`` nodes through ``calibration_nodes=`` and ``--calibration-hops``
(``0``: the subgraph they induce; random graphs of degree 10 reach nearly every node in the
3 hops of the exact default), agreement check included;
``--whole-graph-calibration`` adds a conversion that calibrates on every node) and the SNN
call (no statistics; ``--steps-per-chunk`` and ``--nodes-per-block`` set the network's
``steps_per_chunk`` and ``nodes_per_block``). ``--ann-max-nodes`` skips the PyG ANN
forward on larger graphs (recorded as skipped): on this shared 24 GiB machine it would
run the others' jobs out of memory. Times are CPU seconds (``time.process_time``) and wall
seconds; memory is the peak resident set of the phase (``VmHWM``, reset before each phase
through ``/proc/self/clear_refs``), so it includes the graph itself. The machine's load
average is recorded: other jobs share its cores.
"""

import argparse
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


def reset_peak_memory() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def peak_memory_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def phase(results: dict, name: str, fn):
    """Run ``fn``, recording its CPU time, wall time and peak memory under ``name``."""
    reset_peak_memory()
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    results[name] = {
        "cpu_s": time.process_time() - cpu,
        "wall_s": time.perf_counter() - wall,
        "peak_gb": peak_memory_gb(),
    }
    return out


def one_size(args) -> dict:
    """All phases on one graph of ``args.nodes[0]`` nodes (run in its own process)."""
    torch.set_num_threads(1)
    num_nodes = args.nodes[0]
    generator = torch.Generator().manual_seed(args.seed)
    edge_index = torch.randint(num_nodes, (2, args.degree * num_nodes), generator=generator)
    data = Data(x=torch.rand(num_nodes, args.features, generator=generator), edge_index=edge_index)
    torch.manual_seed(args.seed)
    model = GCN(args.features, 64, 10, activation="qcfs", qcfs_levels=args.T).eval()
    results = {"nodes": num_nodes, "edges": int(edge_index.shape[1])}
    with torch.no_grad():
        if args.ann_max_nodes is None or num_nodes <= args.ann_max_nodes:
            phase(results, "ann_forward", lambda: model(data.x, data.edge_index))
        else:
            results["ann_forward_skipped"] = True
        if args.whole_graph_calibration:
            phase(results, "convert_whole_graph", lambda: gsnn.convert(model, data, T=args.T))
        snn = phase(
            results,
            "convert",
            lambda: gsnn.convert(
                model,
                data,
                T=args.T,
                calibration_nodes=args.calibration_nodes,
                calibration_hops=args.calibration_hops,
            ),
        )
        snn.record_stats = False
        snn.steps_per_chunk = args.steps_per_chunk
        snn.nodes_per_block = args.nodes_per_block
        phase(results, "snn_call", lambda: snn(data.x, data.edge_index))
        phase(results, "snn_second_call", lambda: snn(data.x, data.edge_index))
    results["agreement_on_calibration_nodes"] = snn.conversion_check["agreement"]
    return results


def markdown(args, rows, load) -> str:
    command = (
        f"python experiments/benchmark_scale.py --nodes {' '.join(map(str, args.nodes))} "
        f"--degree {args.degree} --features {args.features} --T {args.T} "
        f"--calibration-nodes {args.calibration_nodes} --seed {args.seed}"
        + (
            f" --calibration-hops {args.calibration_hops}"
            if args.calibration_hops is not None
            else ""
        )
        + (" --whole-graph-calibration" if args.whole_graph_calibration else "")
        + "".join(
            f" --{flag.replace('_', '-')} {getattr(args, flag)}"
            for flag in ("steps_per_chunk", "nodes_per_block", "ann_max_nodes")
            if getattr(args, flag) is not None
        )
    )
    lines = [
        "# Scale: converting and running a GCN SNN on large random graphs",
        "",
        f"Produced by `{command}` (random graphs, {args.degree} edges per node, GCN "
        f"{args.features}-64-10 with QCFS L = T, untrained, method qcfs, T = {args.T}, analog "
        f"input, 1 torch thread, calibration on {args.calibration_nodes:,} nodes' "
        + ("induced subgraph" if args.calibration_hops == 0 else "k-hop subgraph")
        + f"; steps per chunk {args.steps_per_chunk or 'all'}, nodes per block "
        f"{args.nodes_per_block or 'all'}). CPU s = time.process_time of the phase, peak GB = "
        "the process's peak resident memory during the phase (graph included). Load average "
        "before / after "
        f"(1, 5, 15 min): {load[0]} / {load[1]} on 2 cores shared with other jobs.",
        "",
        "| nodes | edges | phase | CPU s | wall s | peak GB |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.get("ann_forward_skipped"):
            lines.append(
                f"| {row['nodes']:,} | {row['edges']:,} | ann_forward | skipped "
                f"(--ann-max-nodes {args.ann_max_nodes:,}) | | |"
            )
        for name, value in row.items():
            if isinstance(value, dict):
                lines.append(
                    f"| {row['nodes']:,} | {row['edges']:,} | {name} | {value['cpu_s']:.1f} | "
                    f"{value['wall_s']:.1f} | {value['peak_gb']:.2f} |"
                )
        convert, call = row["convert"], row["snn_call"]
        lines.append(
            f"| {row['nodes']:,} | | **conversion + SNN call** | "
            f"**{convert['cpu_s'] + call['cpu_s']:.1f}** | "
            f"{convert['wall_s'] + call['wall_s']:.1f} | "
            f"**{max(convert['peak_gb'], call['peak_gb']):.2f}** |"
        )
    lines.append("")
    lines.append(
        "Agreement of ANN and SNN classes on the calibration nodes: "
        + ", ".join(f"{r['nodes']:,}: {r['agreement_on_calibration_nodes']:.4f}" for r in rows)
    )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--degree", type=int, default=10, help="edges per node")
    parser.add_argument("--features", type=int, default=128, help="input features")
    parser.add_argument("--T", type=int, default=8, help="time steps (and QCFS levels)")
    parser.add_argument("--calibration-nodes", type=int, default=100_000)
    parser.add_argument(
        "--calibration-hops",
        type=int,
        default=None,
        help="hops around the calibration nodes (default exact; 0: their induced subgraph)",
    )
    parser.add_argument("--whole-graph-calibration", action="store_true")
    parser.add_argument("--steps-per-chunk", type=int, default=None)
    parser.add_argument("--nodes-per-block", type=int, default=None)
    parser.add_argument(
        "--ann-max-nodes",
        type=int,
        default=None,
        help="skip the PyG ANN forward on graphs with more nodes (default: never skip)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one-size", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output", default=None, help="markdown file to write")
    args = parser.parse_args()
    if args.one_size:
        print(json.dumps(one_size(args)))
        return
    before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    rows = []
    for nodes in args.nodes:
        argv = [sys.executable, __file__, "--one-size", "--nodes", str(nodes)]
        argv += ["--degree", str(args.degree), "--features", str(args.features)]
        argv += ["--T", str(args.T), "--calibration-nodes", str(args.calibration_nodes)]
        if args.calibration_hops is not None:
            argv += ["--calibration-hops", str(args.calibration_hops)]
        argv += ["--seed", str(args.seed)] + (
            ["--whole-graph-calibration"] if args.whole_graph_calibration else []
        )
        for flag in ("steps_per_chunk", "nodes_per_block", "ann_max_nodes"):
            if getattr(args, flag) is not None:
                argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr)
    after = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    text = markdown(args, rows, (before, after))
    output = args.output or f"benchmark_scale-{time.strftime('%Y%m%d-%H%M%S')}.md"
    Path(output).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
