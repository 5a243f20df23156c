"""Everything a command checks before it trains or converts anything.

Each check raises :class:`~gsnn.cli.console.CommandLineError` with a message that
names the option and the fix, so a mistake costs seconds, not a training run.
"""

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Type, Union

import torch
from torch_geometric.data import Data

from gsnn.cli.console import CommandLineError
from gsnn.cli.datasets import check_dataset, dataset_key, load_graph
from gsnn.cli.options import model_options, parse_method_options
from gsnn.cli.reference_model import ANN_FORMAT, activation_of, read_ann_file, training_of
from gsnn.methods import METHODS, ConversionMethod, get_method


def check_positive(name: str, value: Optional[int], least: int = 1) -> None:
    """Refuse an integer option below ``least`` (``None`` passes: the option is unset)."""
    if value is not None and value < least:
        raise CommandLineError(f"{name} must be at least {least}, got {value}.")


def check_model_options(args: argparse.Namespace) -> None:
    """The reference model's options, before it is trained."""
    check_positive("--hidden", args.hidden)
    check_positive("--layers", args.layers, least=2)
    check_positive("--epochs", args.epochs)
    check_positive("--qcfs-levels", args.qcfs_levels)


def checked_recipe(
    method: str, options: Dict[str, Any], T: int, coding: str, qcfs_levels: Optional[int]
) -> ConversionMethod:
    """The method with its options, refused now if it cannot run at ``T`` with ``coding``."""
    check_positive("--T", T)
    recipe = get_method(method, **options)
    if coding != "analog" and not recipe.accepts_spike_coded_input:
        analog = sorted(name for name, cls in METHODS.items() if cls.accepts_spike_coded_input)
        raise CommandLineError(
            f"method {method!r} brings its own input schedule and needs --coding analog, got "
            f"--coding {coding}; methods that take spike-coded input: {', '.join(analog)}."
        )
    if qcfs_levels is not None and recipe.accepted_activations[0] != "qcfs":
        raise CommandLineError(
            f"--qcfs-levels sets the levels of a QCFS ANN, but method {method!r} converts a "
            f"{recipe.accepted_activations[0]} ANN; drop the option or use --method qcfs or "
            "two-phase."
        )
    try:  # the method's own limits on T (e.g. phase: a multiple of its period)
        recipe.make_neuron(torch.tensor(1.0), T, 1)
        recipe.make_readout(1, T)
    except ValueError as error:
        raise CommandLineError(f"--T {T}: {error}") from error
    return recipe


def check_writable_folder(option: str, folder: Path) -> None:
    """Refuse ``folder`` unless a file can be created in it, or in the nearest folder above
    it that exists (the missing ones are created when written)."""
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise CommandLineError(
            f"{option} {folder}: cannot write in {existing} ({error.strerror}); pick another "
            f"{option}."
        ) from error


def check_new_file(option: str, path: Optional[str]) -> None:
    """Refuse to overwrite ``path`` or to write it where that is impossible."""
    if path is None:
        return
    if Path(path).exists():
        raise CommandLineError(f"{option} {path} exists; remove it or pick another path.")
    check_writable_folder(option, Path(path).parent)


def check_output(args: argparse.Namespace) -> None:
    """``--output`` must be writable (it may exist: naming it asks for it to be replaced)."""
    if args.output:
        check_writable_folder("--output", Path(args.output).parent)


def check_unused_training_options(args: argparse.Namespace) -> None:
    """Refuse training options next to ``--load``, whose ANN is trained already."""
    defaults = vars(model_options(many_seeds=hasattr(args, "seeds")).parse_args([]))
    given = [name for name, default in defaults.items() if getattr(args, name) != default]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise CommandLineError(
            f"{flags} set how a model is trained, but --load {args.load} brings a trained "
            "one; drop them, or drop --load to train."
        )


@dataclass
class Setup:
    """What a checked command line resolves to.

    Attributes:
        dataset (str): the data set's name in the table, or the path of a Data file.
        root (str): the data root.
        saved (dict, optional): the contents of the ``--load`` file (of a saved SNN, only
            its ``format``).
    """

    dataset: str
    root: str
    saved: Optional[Dict[str, Any]] = None

    def load_data(self, seed: int) -> Data:
        """The graph, with the split ``seed`` picks where it has no public split."""
        return load_graph(self.dataset, self.root, seed)


def data_setup(args: argparse.Namespace) -> Setup:
    """Check ``--output``, ``--load`` (if any), the training options and the data options."""
    check_output(args)
    saved = None
    if getattr(args, "load", None):
        saved = read_ann_file(args.load, accept_snn=getattr(args, "accepts_snn", False))
        if hasattr(args, "hidden"):
            check_unused_training_options(args)
    elif hasattr(args, "hidden"):
        check_model_options(args)
    trained_on = training_of(saved).dataset if saved and saved["format"] == ANN_FORMAT else None
    dataset = args.dataset or trained_on or "Cora"
    check_dataset(dataset)
    if dataset_key(dataset):
        check_writable_folder("--root", Path(args.root))
    return Setup(dataset_key(dataset) or dataset, args.root, saved)


def conversion_setup(args: argparse.Namespace) -> "tuple[Setup, ConversionMethod]":
    """:func:`data_setup` plus the method, its options, ``--T`` and ``--coding``."""
    recipe = checked_recipe(
        args.method, parse_method_options(args.option), args.T, args.coding, args.qcfs_levels
    )
    setup = data_setup(args)
    if setup.saved is not None:
        check_converts(recipe, activation_of(setup.saved), args.load)
    return setup, recipe


def check_converts(
    recipe: Union[ConversionMethod, Type[ConversionMethod]], activation: str, path: str
) -> None:
    """Refuse a method (an instance or its class) that cannot convert the saved ANN's
    activation."""
    if activation not in recipe.accepted_activations:
        fitting = [name for name, cls in METHODS.items() if activation in cls.accepted_activations]
        raise CommandLineError(
            f"method {recipe.name!r} converts {', '.join(recipe.accepted_activations)} ANNs, but "
            f"{path} is a {activation} ANN; use one of {', '.join(sorted(fitting))}, or train for "
            f"{recipe.name} (gsnn train --method {recipe.name})."
        )
