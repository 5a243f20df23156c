"""``gsnn convert --distributed N``: the converted SNN again over a node partition of N gloo
ranks, its gathered logits compared with the single process's bit for bit.

The ranks are forked on this machine, or, when ``gsnn convert`` runs under ``torchrun``
(``RANK`` and ``WORLD_SIZE`` set), this process is one rank of that launch: every rank
loads the data (rank 0 first, so that only one copies it into ``--root``), trains or loads
and converts the same network (checked: the ranks compare digests of their networks'
state), and rank 0 reports.
"""

import argparse
import contextlib
import hashlib
import os
from typing import Any, Dict, Iterator, Optional

import torch
import torch.distributed as dist
from torch_geometric.data import Data

from gsnn.cli.console import CommandLineError
from gsnn.cli.task import Task
from gsnn.convert import SpikingNetwork
from gsnn.distributed import (
    DistributedSpikingNetwork,
    NodePartition,
    check_partitionable,
    launched_by_torchrun,
    run_ranks,
    world_size_of,
)
from gsnn.distributed.halo_traffic import halo_traffic


def add_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("distributed inference (node classification)")
    group.add_argument(
        "--distributed",
        metavar="N",
        type=int,
        help="after converting, also run the SNN over a node partition of N gloo ranks "
        "(forked on this machine, or the ranks of a torchrun launch: then N = its "
        "WORLD_SIZE) and report whether their logits equal the single process's bit for "
        "bit, with the halo nodes and bytes of every graph layer",
    )


def check_options(args: argparse.Namespace, task: Task, dataset: str) -> None:
    """Refuse, before any data is loaded, a ``--distributed`` that cannot run."""
    if args.distributed is None:
        return
    if args.distributed < 2:
        raise CommandLineError(
            f"--distributed needs at least 2 ranks (1 is the single process), got "
            f"{args.distributed}."
        )
    if task.name != "node":
        raise CommandLineError(
            f"--distributed partitions the nodes of one graph (node classification); "
            f"{dataset} is {task.title}; drop --distributed."
        )
    if args.coding == "bernoulli":
        raise CommandLineError(
            "--distributed cannot run --coding bernoulli: its input spikes are random and "
            "each rank would draw its own; use --coding analog or deterministic."
        )
    try:
        world_size_of(args.distributed)
    except ValueError as error:
        raise CommandLineError(f"--distributed: {error}") from None


@contextlib.contextmanager
def torchrun_group(args: argparse.Namespace) -> Iterator[None]:
    """Under ``torchrun`` with ``--distributed``: the launch's gloo group for the whole
    command, and ``--quiet`` on every rank but 0."""
    if args.distributed is None or not launched_by_torchrun():
        yield
        return
    dist.init_process_group("gloo")
    if dist.get_rank() != 0:
        args.quiet = True
    try:
        yield
    finally:
        dist.destroy_process_group()


def reports(args: argparse.Namespace) -> bool:
    """False on the ranks but 0 of a torchrun launch with ``--distributed`` (rank 0 prints
    and writes the files)."""
    return args.distributed is None or not dist.is_initialized() or dist.get_rank() == 0


@contextlib.contextmanager
def rank_zero_first(args: argparse.Namespace) -> Iterator[None]:
    """Under ``torchrun`` with ``--distributed``, rank 0 runs the block before the others
    (loading data writes ``--root``)."""
    waits = args.distributed is not None and dist.is_initialized() and dist.get_rank() != 0
    if waits:
        dist.barrier()
    yield
    if args.distributed is not None and dist.is_initialized() and dist.get_rank() == 0:
        dist.barrier()


def run_distributed(args: argparse.Namespace, snn: SpikingNetwork, graph: Data) -> Optional[Dict]:
    """The check of ``--distributed``; ``None`` on the other ranks than 0 of a torchrun
    launch.

    Returns:
        dict: ``ranks``, ``launch`` (``"fork"`` or ``"torchrun"``), ``backend``,
        ``partition``, ``nodes_per_rank``, ``logits_equal`` (bit for bit),
        ``max_abs_difference`` and, per graph layer, the halo figures of
        :func:`~gsnn.distributed.halo_traffic.halo_traffic` (summed over the ranks).

    Raises:
        ValueError: the network cannot run over a node partition (the reasons of
            :func:`~gsnn.distributed.check_partitionable`).
    """
    check_partitionable(snn)
    world_size = world_size_of(args.distributed)
    partition = NodePartition.balanced(graph.edge_index, graph.num_nodes, world_size)
    threads = max(1, torch.get_num_threads() // world_size)
    recording, snn.record_stats = snn.record_stats, False
    try:
        with torch.no_grad():
            reference = snn(graph.x, graph.edge_index)
        report = run_ranks(lambda: one_rank(snn, graph, partition), world_size, threads)
    finally:
        snn.record_stats = recording
    if report is None:
        return None
    gathered = report.pop("logits")
    return {
        "ranks": world_size,
        "launch": "torchrun" if launched_by_torchrun() else "fork",
        "backend": "gloo",
        "partition": "rcm",
        "nodes_per_rank": (partition.bounds[1:] - partition.bounds[:-1]).tolist(),
        "logits_equal": torch.equal(gathered, reference),
        "max_abs_difference": float((gathered - reference).abs().max()),
        **report,
    }


def one_rank(snn: SpikingNetwork, graph: Data, partition: NodePartition) -> Dict[str, Any]:
    """This rank's part (a collective): the gathered logits and the halo per layer."""
    check_same_network(snn)
    ranks = DistributedSpikingNetwork(snn, graph.edge_index, graph.num_nodes, partition=partition)
    with torch.no_grad():
        logits = ranks(graph.x[ranks.nodes])
    return {"logits": partition.gather(logits), "layers": halo_traffic(ranks)}


def check_same_network(snn: SpikingNetwork) -> None:
    """Raise ``ValueError`` on every rank unless all ranks hold the same weights and
    thresholds (a collective; under torchrun every rank converted its own)."""
    digest = hashlib.sha256()
    for name, value in sorted(snn.state_dict().items()):
        digest.update(name.encode())
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
            digest.update(value)
        else:  # a module's extra state
            digest.update(repr(value).encode())
    mine = torch.tensor([int.from_bytes(digest.digest()[:8], "little", signed=True)])
    everyone = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    if any(not torch.equal(other, mine) for other in everyone):
        raise ValueError(
            f"The ranks converted different networks (rank {os.environ.get('RANK', '?')}'s "
            "differs); train once with gsnn train --save and give every rank --load."
        )


def distributed_text(report: Dict[str, Any]) -> str:
    """The human-readable lines of the check."""
    launch = "forked on this machine" if report["launch"] == "fork" else "of the torchrun launch"
    nodes = " / ".join(f"{count:,}" for count in report["nodes_per_rank"])
    verdict = (
        "equal the single-process SNN's bit for bit"
        if report["logits_equal"]
        else f"DIFFER from the single-process SNN's (max |difference| "
        f"{report['max_abs_difference']:.3g})"
    )
    rows = [("layer", "halo nodes", "rows sent", "bytes sent", "input")]
    for layer, traffic in report["layers"].items():
        kind = "binary spikes, 8 to a byte" if traffic["binary"] else "values"
        rows.append(
            (
                layer,
                f"{traffic['halo_nodes']:,}",
                f"{traffic['rows']:,}",
                f"{traffic['bytes']:,}",
                kind,
            )  # fmt: skip
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join(
        "  "
        + "  ".join(
            cell.ljust(width) if column in (0, 4) else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths))
        ).rstrip()
        for row in rows
    )
    return (
        f"\n\nOver {report['ranks']} {report['backend']} ranks ({launch}; reverse "
        f"Cuthill-McKee node partition of {nodes} nodes), the gathered logits {verdict}. "
        "Halo per graph layer, summed over the ranks, one call:\n" + table
    )
