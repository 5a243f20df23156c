"""The ``gsnn`` command line: train a reference GNN, convert it, evaluate, sweep, benchmark.

One file per subcommand; each adds its parser with :func:`add_parser` and runs
with ``args.run(args)``. Shared options live in :mod:`gsnn.cli.options`, the
checks run before any work in :mod:`gsnn.cli.preflight`.
"""

import argparse
import logging
import os
import sys
from typing import List, Optional

import torch
import torch_geometric

import gsnn
from gsnn.cli import bench, convert, evaluate, methods, sweep, train
from gsnn.cli.console import CommandLineError, report_error, set_threads
from gsnn.cli.options import HelpFormatter
from gsnn.data import DatasetUnavailableError

COMMANDS = (train, convert, evaluate, sweep, bench, methods)
DESCRIPTION = """Convert trained graph neural networks (and CNNs) into spiking neural networks.

A typical session:
  gsnn train --dataset Cora --method qcfs --T 8 --save cora-qcfs.pt
  gsnn convert --load cora-qcfs.pt --method qcfs --T 8 --save cora-qcfs.snn
  gsnn eval --load cora-qcfs.snn
  gsnn sweep --dataset Cora --methods qcfs rate --T 4 8 16
  gsnn methods

Node classification (Cora, CiteSeer, PubMed, Photo, Computers, CS, Physics, Actor, Cornell,
Texas, Wisconsin, or your own torch.save'd Data), graph classification (MUTAG, PROTEINS, NCI1,
ENZYMES, IMDB-BINARY) and images (MNIST, CIFAR10):
  gsnn convert --dataset MUTAG --model gin --method rate --T 32
  gsnn convert --load experiments/weights/mnist-lenet5-qcfsL4-seed0.pt --T 4

Every mistake is reported before any training, on stderr with exit code 2; results go to
stdout (--json for JSON). Run gsnn COMMAND --help for a command's options and their
defaults; docs/cli.md has the data sets' splits and the models.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsnn", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    parser.add_argument(
        "--version",
        action="version",
        help="print the versions of gsnn, torch and torch_geometric and exit",
        version=f"gsnn {gsnn.__version__} (torch {torch.__version__}, "
        f"torch_geometric {torch_geometric.__version__})",
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status (0; 2 for a usage or data error; 1 when
    ``gsnn convert --distributed`` found the ranks' logits unequal to one process's)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    status = 0
    try:
        set_threads(args)
        status = args.run(args) or 0
    except (CommandLineError, DatasetUnavailableError, ValueError) as error:
        report_error(str(error))
        return 2
    except KeyboardInterrupt:
        report_error("interrupted")
        return 130
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status
