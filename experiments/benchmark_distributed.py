"""One process against two ranks over a node partition: equal logits, time, halo traffic.

Reproduce the committed results:

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_distributed.py \
        --output experiments/results/benchmark_distributed.md

or launch the ranks yourself (each rank then trains and converts the same models):

    torchrun --nproc_per_node 2 experiments/benchmark_distributed.py --output results.md

``gsnn bench distributed`` runs the same code (``add_arguments``, ``measure``, ``markdown``)
and prints the page, or its rows as JSON.

Workloads: Cora GCNs (public split, row-normalised features, hidden ``--hidden``: 16 and
256, QCFS L = ``--T``, trained with seed ``--seed``) and a random graph of ``--random-nodes``
nodes with 10 random edges per node, 128 uniform features and the untrained GCN 128-64-10
(QCFS, weights from the seed), calibrated on 20,000 nodes (all if fewer); all converted with
qcfs at ``--T``, analog input, no statistics. Without torchrun the script converts in one
process and forks ``--ranks`` gloo ranks, one torch thread each. In every repeat rank 0
first runs the single-process SNN on the whole graph while the other ranks wait at a
barrier, then all ranks run :class:`gsnn.distributed.DistributedSpikingNetwork` on their
blocks, once over the reverse Cuthill-McKee partition (``rcm``, the default) and once over
contiguous row blocks of the node ids (``given``); times are the minima over ``--repeats``
(CPU: ``time.process_time`` of each rank's call; wall: from a common barrier to the last
rank's end). The gathered logits are compared with the
single-process ones bit for bit. The halo traffic is each layer's payload summed over ranks
and the float32 bytes the same rows would take unpacked.
"""

import argparse
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch_geometric.transforms as transforms
from torch_geometric.data import Data

import gsnn
from gsnn.ann import GCN, train_node_classifier
from gsnn.data import planetoid
from gsnn.distributed import (
    DistributedSpikingNetwork,
    NodePartition,
    launched_by_torchrun,
    run_ranks,
    world_size_of,
)
from gsnn.distributed.halo_traffic import halo_traffic
from gsnn.distributed.node_partition import ORDERS


def workloads(args):
    """``(name, snn, data)`` for every workload, converted in this process."""
    out = []
    if args.hidden:
        cora = planetoid("Cora", root=args.root, transform=transforms.NormalizeFeatures())
    for hidden in args.hidden:
        torch.manual_seed(args.seed)
        classes = int(cora.y.max()) + 1
        model = GCN(cora.num_features, hidden, classes, activation="qcfs", qcfs_levels=args.T)
        train_node_classifier(model, cora)
        out.append((f"Cora GCN h{hidden}", gsnn.convert(model, cora, T=args.T), cora))
    if args.random_nodes:
        nodes = args.random_nodes
        generator = torch.Generator().manual_seed(args.seed)
        edge_index = torch.randint(nodes, (2, 10 * nodes), generator=generator)
        data = Data(x=torch.rand(nodes, 128, generator=generator), edge_index=edge_index)
        torch.manual_seed(args.seed)
        model = GCN(128, 64, 10, activation="qcfs", qcfs_levels=args.T).eval()
        calibration = min(20_000, nodes)
        snn = gsnn.convert(model, data, T=args.T, calibration_nodes=calibration, calibration_hops=0)
        out.append((f"random {nodes:,} nodes GCN 128-64-10", snn, data))
    for _, snn, _ in out:
        snn.record_stats = False
    return out


def timed(fn):
    """``fn()``'s result and its CPU seconds."""
    started = time.process_time()
    result = fn()
    return result, time.process_time() - started


def measure_workload(name, snn, data, repeats, order) -> dict:
    """One workload on every rank (a collective) over the partition of ``order``; rank 0's
    dict holds the results."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    partition = NodePartition.balanced(data.edge_index, data.num_nodes, world_size, order)
    ranks = DistributedSpikingNetwork(snn, data.edge_index, data.num_nodes, partition=partition)
    x_local = data.x[ranks.nodes]
    best = {"single_cpu": float("inf"), "cpu": float("inf"), "wall": float("inf")}
    with torch.no_grad():
        reference = snn(data.x, data.edge_index) if rank == 0 else None
        ranks(x_local)  # warm-up
        for _ in range(repeats):
            dist.barrier()
            if rank == 0:
                _, cpu = timed(lambda: snn(data.x, data.edge_index))
                best["single_cpu"] = min(best["single_cpu"], cpu)
            dist.barrier()
            wall = time.perf_counter()
            logits, cpu = timed(lambda: ranks(x_local))
            dist.barrier()
            best["wall"] = min(best["wall"], time.perf_counter() - wall)
            best["cpu"] = min(best["cpu"], cpu)
    gathered = ranks.partition.gather(logits)
    cpus = [torch.zeros(1, dtype=torch.float64) for _ in range(world_size)]
    dist.all_gather(cpus, torch.tensor([best["cpu"]], dtype=torch.float64))
    traffic = halo_traffic(ranks)
    if rank != 0:
        return {}
    return {
        "name": name,
        "order": order,
        "nodes": data.num_nodes,
        "edges": int(data.edge_index.shape[1]),
        "equal": bool(torch.equal(gathered, reference)),
        "single_cpu": best["single_cpu"],
        "rank_cpu": [float(c) for c in cpus],
        "wall": best["wall"],
        "traffic": traffic,
        "halo_nodes": [layer["halo_nodes"] for layer in traffic.values()],
        "steps": snn.steps,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared with ``gsnn bench distributed``)."""
    parser.add_argument(
        "--ranks",
        type=int,
        default=None,
        help="gloo ranks to fork on this machine (unset: 2, or torchrun's WORLD_SIZE)",
    )
    parser.add_argument("--T", type=int, default=8, help="time steps (and QCFS levels)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timed calls")
    parser.add_argument("--seed", type=int, default=0, help="seed of the models and the graph")
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="*",
        default=[16, 256],
        help="widths of the Cora GCNs (none: no Cora workload)",
    )
    parser.add_argument(
        "--random-nodes", type=int, default=200_000, help="nodes of the random graph (0: none)"
    )
    parser.add_argument("--root", default="datasets/", help="data root")


def measure(args) -> dict:
    """Every workload over both partition orders on ``--ranks`` ranks: rank 0's rows and the
    world size (``None`` on the other ranks of a torchrun launch)."""
    if not args.hidden and not args.random_nodes:
        raise ValueError("Nothing to measure: give --hidden widths or --random-nodes.")
    world_size = world_size_of(args.ranks)
    items = workloads(args)
    rows = run_ranks(
        lambda: [
            measure_workload(name, snn, data, args.repeats, order)
            for name, snn, data in items
            for order in ORDERS
        ],
        world_size,
    )
    if rows is None:
        return None
    return {"world_size": world_size, "torchrun": launched_by_torchrun(), "rows": rows}


def markdown(args, result: dict) -> str:
    """The results page of one run."""
    rows, world_size = result["rows"], result["world_size"]
    options = (
        f"--T {args.T} --repeats {args.repeats} --seed {args.seed} "
        f"--random-nodes {args.random_nodes}"
    )
    if args.hidden != [16, 256]:
        options += " " + " ".join(["--hidden", *map(str, args.hidden)])
    if result["torchrun"]:
        command = (
            f"torchrun --nproc_per_node {world_size} experiments/benchmark_distributed.py "
            + options
        )
    else:
        command = f"python experiments/benchmark_distributed.py --ranks {world_size} {options}"
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"# One process vs {world_size} ranks over a node partition (gloo, CPU)",
        "",
        f"Produced by `{command}` (see the script's docstring for the workloads). qcfs, "
        f"T = {args.T}, analog input, no statistics, one torch thread per rank, "
        f"{world_size} blocks of equal size of the reverse Cuthill-McKee node order (rcm, "
        "the default) and of the given node ids (given: contiguous row blocks), measured in "
        "turn. The machine has 2 cores and was "
        f"SHARED with other agents' jobs (load average 1, 5, 15 min at the end: {load}), so "
        "the ranks also competed with them and with each other: read the times as CPU cost, "
        "not as a speed-up measurement. NCCL (GPUs) is untested.",
        "",
        "| workload | partition | nodes | edges | logits equal to 1 process | 1 process CPU s | "
        f"per-rank CPU s | {world_size}-rank wall s | halo nodes per layer (sum over ranks) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['order']} | {row['nodes']:,} | {row['edges']:,} | "
            f"{'yes, bitwise' if row['equal'] else 'NO'} | {row['single_cpu']:.4f} | "
            f"{' / '.join(f'{c:.4f}' for c in row['rank_cpu'])} | {row['wall']:.4f} | "
            f"{' / '.join(f'{n:,}' for n in row['halo_nodes'])} |"
        )
    lines += [
        "",
        reading(rows),
        "",
        "Halo traffic per call, summed over ranks (binary spikes are sent 8 to a byte; the "
        "first layer sends the analog input once per call, not once per step):",
        "",
        "| workload | partition | layer | input | rows sent | bytes sent | "
        "float32 bytes of the same rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for layer, traffic in row["traffic"].items():
            kind = f"binary spikes, {row['steps']} steps" if traffic["binary"] else "analog, once"
            unpacked = traffic["values"] * 4
            lines.append(
                f"| {row['name']} | {row['order']} | {layer} | {kind} | {traffic['rows']:,} | "
                f"{traffic['bytes']:,} | {unpacked:,} |"
            )
    return "\n".join(lines) + "\n"


def reading(rows) -> str:
    """What the partitions did to the halo, from the measured rows."""
    halos = {}
    for row in rows:
        halos.setdefault((row["name"], row["nodes"]), {})[row["order"]] = row["halo_nodes"][0]
    cuts = "; ".join(
        f"{name}: {orders['given']:,} -> {orders['rcm']:,} of {nodes:,} nodes"
        for (name, nodes), orders in halos.items()
    )
    names = {row["name"] for row in rows}
    locality = []  # only what the measured workloads show
    if any(name.startswith("Cora") for name in names):
        locality.append("Cora's node order carries little locality and rcm finds some")
    if any(name.startswith("random") for name in names):
        locality.append(
            "a random graph has no locality to find, so there the halo stays nearly the whole "
            "other block under any balanced partition"
        )
    locality_text = "; ".join(locality)
    locality_text = f"{locality_text[:1].upper()}{locality_text[1:]}. " if locality else ""
    return (
        "Reading: a rank computes its layers' node-wise maps for its own nodes and again for "
        "its halo, and receives the halo's rows, so the halo sets the repeated work and the "
        "traffic. Halo of the first layer, contiguous blocks of the given ids -> blocks of "
        f"the rcm order (sum over ranks): {cuts}. {locality_text}The "
        "wall time adds the exchange and the ranks' competition for 2 shared cores. Binary "
        "spikes cross at 1/32 of their float32 size; the first layer's analog input is most "
        "of the traffic."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--output", default=None, help="markdown file to write")
    args = parser.parse_args()
    torch.set_num_threads(1)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    output = args.output or f"benchmark_distributed-{stamp}.md"
    result = measure(args)
    if result is not None:  # rank 0
        Path(output).write_text(markdown(args, result))
        print(f"wrote {output}")


if __name__ == "__main__":
    main()
