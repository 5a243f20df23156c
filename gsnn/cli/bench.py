"""``gsnn bench``: the speed, memory and distributed benchmarks of ``experiments/``, from
the shell.

The measurements are the benchmark scripts' own (``experiments/benchmark_speed.py``,
``experiments/benchmark_memory.py`` and ``experiments/benchmark_distributed.py``, each
with ``add_arguments``, ``measure`` and ``markdown``); this command loads them from the
source checkout gsnn runs from, so both always measure the same thing.
"""

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Optional

import torch

import gsnn
from gsnn.cli.console import CommandLineError, emit
from gsnn.cli.options import HelpFormatter, general_options

EXPERIMENTS = Path(gsnn.__file__).resolve().parent.parent / "experiments"
BENCHMARKS = {
    "speed": (
        "benchmark_speed.py",
        "SNN against ANN forward time, time-stacked against step by step",
    ),
    "memory": (
        "benchmark_memory.py",
        "peak memory of a large graph's SNN, in one pass and in chunks",
    ),
    "distributed": (
        "benchmark_distributed.py",
        "one process against gloo ranks over a node partition: equal logits, time, halo",
    ),
}


def benchmark_script(name: str) -> Optional[ModuleType]:
    """The benchmark script ``name`` as a module, or ``None`` outside a source checkout."""
    path = EXPERIMENTS / BENCHMARKS[name][0]
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"gsnn_benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        formatter_class=HelpFormatter,
        help="speed and memory of converted networks against their ANNs, and over ranks",
        description="Run a benchmark of experiments/ and print its ratios (markdown, or JSON "
        "with --json). Only ratios within one run are reported; absolute times depend on "
        "the machine. Under torchrun, gsnn bench distributed runs as one rank of the launch "
        "and rank 0 prints.",
        epilog="examples:\n  gsnn bench speed --T 8 --repeats 30\n"
        "  gsnn bench memory --nodes 20000 --T 16\n"
        "  gsnn bench distributed --ranks 2 --random-nodes 100000\n"
        "  torchrun --nproc_per_node 2 -m gsnn bench distributed --hidden 16 --random-nodes 0",
    )
    benchmarks = parser.add_subparsers(
        title="benchmarks", dest="benchmark", required=True, metavar="BENCHMARK"
    )
    for name, (file_name, summary) in BENCHMARKS.items():
        sub = benchmarks.add_parser(
            name,
            parents=[general_options(threads=1)],  # ratios are compared at one thread
            formatter_class=HelpFormatter,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]} (experiments/{file_name}).",
        )
        script = benchmark_script(name)
        if script is not None:
            script.add_arguments(sub.add_argument_group(f"benchmark (experiments/{file_name})"))
        sub.set_defaults(run=run, script=script)


def run(args: argparse.Namespace) -> None:
    if args.script is None:
        raise CommandLineError(
            f"gsnn bench runs the benchmark scripts of a source checkout "
            f"({EXPERIMENTS / BENCHMARKS[args.benchmark][0]} is missing); clone the "
            "repository and pip install -e . there."
        )
    args.threads = torch.get_num_threads()  # as chosen by --threads
    result = args.script.measure(args)
    if result is None:  # another rank than 0 of a torchrun launch: rank 0 reports
        return
    text = args.script.markdown(args, result)
    emit(args, {"benchmark": args.benchmark, "result": result}, text.rstrip("\n"))
