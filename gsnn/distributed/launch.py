"""Running a function on every rank of a gloo group: forked here, or as a torchrun rank."""

import os
import tempfile
from typing import Any, Callable, Optional

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def launched_by_torchrun() -> bool:
    """Whether this process is a rank of a ``torchrun`` launch (``RANK`` and ``WORLD_SIZE``
    are set)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_size_of(requested: Optional[int], default: int = 2) -> int:
    """The ranks :func:`run_ranks` runs: a torchrun launch's ``WORLD_SIZE``, else
    ``requested`` (``default`` when ``None``).

    Raises:
        ValueError: ``requested`` is below 1, or differs from a torchrun launch's.
    """
    if launched_by_torchrun():
        launched = int(os.environ["WORLD_SIZE"])
        if requested not in (None, launched):
            raise ValueError(
                f"{requested} ranks were asked for, but torchrun launched {launched}; ask for "
                f"{launched} or launch with torchrun --nproc_per_node {requested}."
            )
        return launched
    world_size = default if requested is None else requested
    if world_size < 1:
        raise ValueError(f"Distributed inference needs at least 1 rank, got {world_size}.")
    return world_size


def run_ranks(fn: Callable[[], Any], world_size: Optional[int] = None, threads: int = 1) -> Any:
    """``fn()`` on every rank of a gloo process group of ``world_size`` ranks, as a
    collective; returns rank 0's result.

    Under ``torchrun`` this process is one rank: it joins the launch's group (from the
    environment, unless a group is already initialised), runs ``fn`` and returns its
    result on rank 0 and ``None`` on the others. Otherwise it forks ``world_size`` ranks
    on this machine, which inherit everything ``fn`` refers to (nothing is pickled on the
    way in), meet through a file store in a temporary folder and run ``fn`` with
    ``threads`` torch threads each; rank 0's result comes back through a file
    (:func:`torch.save`), and an exception in any rank is raised here.

    Args:
        fn (callable): called without arguments on every rank; it may use
            :mod:`torch.distributed` collectives on the default group.
        world_size (int, optional): the ranks (:func:`world_size_of`).
        threads (int): torch threads of each forked rank.

    Raises:
        ValueError: from :func:`world_size_of`.
    """
    world_size = world_size_of(world_size)
    if launched_by_torchrun():
        joined = not dist.is_initialized()
        if joined:
            dist.init_process_group("gloo")
        try:
            result = fn()
        finally:
            if joined:
                dist.destroy_process_group()
        return result if int(os.environ["RANK"]) == 0 else None
    with tempfile.TemporaryDirectory() as folder:
        mp.start_processes(
            _forked_rank,
            args=(world_size, folder, threads, fn),
            nprocs=world_size,
            start_method="fork",
        )
        return torch.load(os.path.join(folder, "result.pt"), weights_only=False)


def _forked_rank(rank: int, world_size: int, folder: str, threads: int, fn: Callable) -> None:
    torch.set_num_threads(threads)
    store = f"file://{os.path.join(folder, 'store')}"
    dist.init_process_group("gloo", init_method=store, rank=rank, world_size=world_size)
    try:
        result = fn()
        if rank == 0:
            torch.save(result, os.path.join(folder, "result.pt"))
    finally:
        dist.destroy_process_group()
