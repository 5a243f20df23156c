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

from gsnn.cli.console import CommandLineError
from gsnn.cli.datasets import check_dataset, dataset_key, load_dataset, task_of
from gsnn.cli.options import model_options, parse_method_options
from gsnn.cli.reference_model import (
    ANN_FORMAT,
    activation_of,
    read_ann_file,
    task_of_saved,
    training_of,
)
from gsnn.cli.task import Task, TaskData
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
        task (Task): what kind of classification the data set is.
        saved (dict, optional): the contents of the ``--load`` file (of a saved SNN, its
            ``format`` and the ``converted`` record of :mod:`gsnn.cli.snn_file`).
        test_limit (int, optional): score only this many test images.
        coding (str): the input coding the data will be converted with.
    """

    dataset: str
    root: str
    task: Task
    saved: Optional[Dict[str, Any]] = None
    test_limit: Optional[int] = None
    coding: str = "analog"

    def load_data(self, seed: int) -> TaskData:
        """The data set, with the split ``seed`` picks where it has no given one; refused
        if its inputs do not fit a spike coding (before anything is trained on it)."""
        data = self.task.prepare(load_dataset(self.dataset, self.root, seed), seed, self.test_limit)
        if self.coding != "analog":
            low, high = data.input_range()
            if low < 0 or high > 1:
                raise CommandLineError(
                    f"--coding {self.coding} takes inputs in [0, 1], but the features of "
                    f"{self.dataset} lie in [{low:.4g}, {high:.4g}]; rescale them (e.g. "
                    "torch_geometric.transforms.NormalizeFeatures) or use --coding analog."
                )
        return data


def same_dataset(first: str, second: str) -> bool:
    """Whether two ``--dataset`` values name the same data set (or the same file)."""
    if dataset_key(first) or dataset_key(second):
        return dataset_key(first) == dataset_key(second)
    return Path(first).resolve() == Path(second).resolve()


def recorded_dataset(args: argparse.Namespace, saved: Optional[Dict[str, Any]]) -> str:
    """``--dataset``, else the one the ``--load`` file records; refuse a saved SNN's
    mismatching ``--dataset``, and one without a record and without ``--dataset``."""
    if saved is None:
        return args.dataset or "Cora"
    if saved["format"] == ANN_FORMAT:
        return args.dataset or training_of(saved).dataset
    converted = saved.get("converted")
    if converted is None:
        if args.dataset is None:
            raise CommandLineError(
                f"--load {args.load} records no data set (it was written by gsnn.save, not "
                "by gsnn convert --save); pass the one it was converted on with --dataset."
            )
        return args.dataset
    if args.dataset is not None and not same_dataset(args.dataset, converted["dataset"]):
        raise CommandLineError(
            f"--load {args.load} was converted on {converted['dataset']}, not on "
            f"--dataset {args.dataset}: its thresholds were calibrated there and its "
            f"layers take its features; drop --dataset (it defaults to "
            f"{converted['dataset']}) or convert an ANN trained on {args.dataset}."
        )
    return converted["dataset"]


def resolve_training(args: argparse.Namespace, task: Task, dataset: str) -> None:
    """Fill the unset training options with ``task``'s defaults; refuse those its models
    do not have."""
    defaults = task.defaults
    fixed = [
        flag
        for flag, given, default in (
            ("--hidden", args.hidden, defaults.hidden),
            ("--layers", args.layers, defaults.layers),
        )
        if given is not None and default is None
    ]
    if args.residual and not defaults.residual:
        fixed.append("--residual")
    if fixed:
        raise CommandLineError(
            f"{dataset} is {task.title}, whose models ({', '.join(task.models)}) have no "
            f"{' or '.join(fixed)}; drop {'it' if len(fixed) == 1 else 'them'}."
        )
    args.model = args.model or task.default_model(dataset)
    args.hidden = args.hidden or defaults.hidden
    args.layers = args.layers or defaults.layers
    args.epochs = args.epochs or defaults.epochs


def check_trainable(task: Task, dataset: str, model: str, method: Type[ConversionMethod]) -> None:
    """Refuse to train ``model`` for ``method`` on ``dataset`` where it cannot work."""
    refusal = task.refusal(dataset, model, method)
    if refusal:
        raise CommandLineError(refusal)


def check_coding(task: Task, dataset: str, coding: str) -> None:
    """Refuse an input coding the data set's inputs do not fit."""
    refusal = task.coding_refusal(dataset, coding)
    if refusal:
        raise CommandLineError(refusal)


def data_setup(args: argparse.Namespace) -> Setup:
    """Check ``--output``, ``--load`` (if any), the training options and the data options;
    fill the unset training options for the data set's task."""
    check_output(args)
    saved = None
    trains = hasattr(args, "hidden") and not getattr(args, "load", None)
    if getattr(args, "load", None):
        saved = read_ann_file(args.load, accept_snn=getattr(args, "accepts_snn", False))
        if hasattr(args, "hidden"):
            check_unused_training_options(args)
    elif trains:
        check_model_options(args)
    dataset = recorded_dataset(args, saved)
    check_dataset(dataset)
    task = task_of(dataset)
    if saved is not None and saved["format"] == ANN_FORMAT:
        saved_task = task_of_saved(saved)
        if saved_task is not task:
            raise CommandLineError(
                f"--load {args.load} holds a model for {saved_task.title} (trained on "
                f"{training_of(saved).dataset}), but --dataset {dataset} is {task.title}; "
                f"drop --dataset or train a model for {dataset}."
            )
    check_positive("--test-images", args.test_images)
    if args.test_images is not None and task.name != "image":
        raise CommandLineError(
            f"--test-images limits the test images of MNIST and CIFAR10, but {dataset} is "
            f"{task.title} (all its test {'graphs' if task.name == 'graph' else 'nodes'} are "
            "scored); drop it."
        )
    if trains:
        resolve_training(args, task, dataset)
    if dataset_key(dataset):
        check_writable_folder("--root", Path(args.root))
    return Setup(dataset_key(dataset) or dataset, args.root, task, saved, args.test_images)


def conversion_setup(args: argparse.Namespace) -> "tuple[Setup, ConversionMethod]":
    """:func:`data_setup` plus the method, its options, ``--T`` and ``--coding``, and the
    model the method needs on the data set."""
    recipe = checked_recipe(
        args.method, parse_method_options(args.option), args.T, args.coding, args.qcfs_levels
    )
    setup = data_setup(args)
    check_coding(setup.task, setup.dataset, args.coding)
    setup.coding = args.coding
    if setup.saved is not None:
        check_converts(recipe, activation_of(setup.saved), args.load)
    else:
        check_trainable(setup.task, setup.dataset, args.model, type(recipe))
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
