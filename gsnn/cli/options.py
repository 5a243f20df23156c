"""The options the commands share, with their help texts and defaults."""

import argparse
import ast
import textwrap
from typing import Any, Dict, List

from gsnn.cli.console import CommandLineError
from gsnn.cli.datasets import DATASETS
from gsnn.coding import CODERS
from gsnn.methods import METHODS


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default (unless it is unset or off), and keeps the
    layout of indented lines (examples) in descriptions and epilogs."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        unset = action.default is None or action.default is False or action.default == []
        if action.option_strings and not unset and action.default is not argparse.SUPPRESS:
            if "%(default)" not in help_text:
                help_text += " (default: %(default)s)"
        return help_text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if any(line.startswith(" ") for line in paragraph.splitlines()):
                paragraphs.append(paragraph)
            else:
                paragraphs.append(textwrap.fill(" ".join(paragraph.split()), width))
        return "\n\n".join(paragraphs)


def general_options(
    computes: bool = True,
    output_help: str = "also write the results as JSON to PATH",
    threads: int = 0,
) -> argparse.ArgumentParser:
    """``--threads`` (default ``threads``, if the command ``computes``), ``--quiet``,
    ``--json`` and ``--output``."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("general")
    if computes:
        group.add_argument(
            "--threads",
            metavar="N",
            type=int,
            default=threads,
            help="torch threads; 0 picks the idle cores of this machine and prints the choice",
        )
    group.add_argument(
        "--quiet", action="store_true", help="no progress bars and no informative messages"
    )
    group.add_argument("--json", action="store_true", help="print the results as JSON")
    group.add_argument("--output", metavar="PATH", help=output_help)
    return parser


def data_options() -> argparse.ArgumentParser:
    """``--dataset``, ``--root`` and ``--test-images``."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("data")
    group.add_argument(
        "--dataset",
        default=None,
        metavar="NAME",
        help=f"a data set: {', '.join(DATASETS)} (any letter case; see docs/cli.md for "
        "their splits), or the path of a torch.save'd PyG Data with x, edge_index, y and "
        "train/val/test masks (default: the data set the --load file was trained or "
        "converted on, else Cora)",
    )
    group.add_argument(
        "--root",
        metavar="DIR",
        default="datasets/",
        help="folder the data sets are kept in (copied there from $GSNN_DATA_MIRROR if set)",
    )
    group.add_argument(
        "--test-images",
        type=int,
        metavar="N",
        help="MNIST and CIFAR10 only: score N test images drawn with seed 0 instead of all "
        "10,000 (a quick look)",
    )
    return parser


def model_options(many_seeds: bool = False) -> argparse.ArgumentParser:
    """The reference model and its training (``--seeds``, a list, if ``many_seeds``).

    ``--model``, ``--hidden``, ``--layers`` and ``--epochs`` default to ``None``: the
    data set's task fills them in (:func:`gsnn.cli.preflight.resolve_training`).
    """
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("reference model (when it is trained)")
    group.add_argument(
        "--model",
        choices=["gcn", "sage", "gin", "lenet5", "vggsmall", "resnet20"],
        help="architecture. Node classification: gcn (Kipf & Welling; the default) or sage "
        "(GraphSAGE, mean aggregation). Graph classification: gin (GIN + global_add_pool; "
        "the default) or gcn (GCN + global_mean_pool). MNIST: lenet5. CIFAR10: vggsmall "
        "(the default) or resnet20",
    )
    group.add_argument(
        "--hidden",
        metavar="N",
        type=int,
        help="hidden width (default: 16 for node, 32 for graph classification; the CNNs' "
        "widths are fixed)",
    )
    group.add_argument(
        "--layers",
        metavar="N",
        type=int,
        help="graph convolutions, at least 2 (default: 2 for node, 3 for graph classification)",
    )
    group.add_argument(
        "--residual",
        action="store_true",
        help="residual connections around the middle layers (node classification)",
    )
    group.add_argument(
        "--epochs",
        metavar="N",
        type=int,
        help="training epochs (default: 200 for node classification, Adam lr 0.01; 50 for "
        "graphs, Adam lr 0.01, 32 graphs a batch; 5 for images, SGD one-cycle to lr 0.05 "
        "on MNIST, 0.1 with crops and flips on CIFAR10)",
    )
    if many_seeds:
        group.add_argument(
            "--seeds",
            nargs="+",
            type=int,
            default=[0, 1, 2, 3, 4],
            help="seeds of initialisation, training and split (where the data set has no "
            "given one), one model each",
        )
    else:
        group.add_argument(
            "--seed",
            metavar="N",
            type=int,
            default=0,
            help="seed of initialisation and training, and of the split where the data set "
            "has no given one (Amazon, Coauthor: 20 + 30 nodes per class; Actor, WebKB: the "
            "split number, 0-9; TU: a stratified 80/10/10 split of the graphs)",
        )
    group.add_argument(
        "--qcfs-levels",
        metavar="L",
        type=int,
        default=None,
        help="levels L of a QCFS ANN (methods that convert QCFS; default: T)",
    )
    return parser


def method_options(many: bool = False, converts: bool = True) -> argparse.ArgumentParser:
    """``--method``, ``--T``, ``--option`` and ``--coding``.

    Args:
        many (bool): lists of methods and of T (a sweep).
        converts (bool): with the options of the conversion itself (``--option``,
            ``--coding``); without, only what picks the ANN to train.
    """
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("conversion" if converts else "the ANN a method needs")
    if many:
        group.add_argument(
            "--methods",
            nargs="+",
            choices=sorted(METHODS),
            metavar="METHOD",
            help=f"conversion methods: {', '.join(sorted(METHODS))} (see gsnn methods; "
            "default: all, or with --load those that convert its activation)",
        )
        group.add_argument(
            "--T", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32], help="time steps"
        )
    else:
        group.add_argument(
            "--method",
            default="qcfs",
            choices=sorted(METHODS),
            metavar="METHOD",
            help=f"conversion method: {', '.join(sorted(METHODS))}; it also picks the ANN "
            "activation trained (see gsnn methods)",
        )
        group.add_argument("--T", type=int, default=8, help="time steps")
    if converts:
        group.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a method option, e.g. --option base=1.5 (repeatable; see gsnn methods)"
            + ("; each goes to every method that has it" if many else ""),
        )
    if converts:
        group.add_argument(
            "--coding", default="analog", choices=sorted(CODERS), help="input coding of the SNN"
        )
    return parser


def parse_method_options(pairs: List[str]) -> Dict[str, Any]:
    """``["base=1.5", "loss=kl", "signed=true"]`` to keyword arguments: Python literals,
    ``true`` / ``false`` / ``none`` in any case as ``True`` / ``False`` / ``None`` (as
    shells and YAML write them), else text."""
    words = {"true": True, "false": False, "none": None}
    options = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator or not name:
            raise CommandLineError(
                f"--option takes NAME=VALUE (e.g. --option base=1.5), got {pair!r}."
            )
        if text.lower() in words:
            options[name] = words[text.lower()]
            continue
        try:
            options[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[name] = text
    return options
