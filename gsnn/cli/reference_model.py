"""The reference models the commands train, and their file: a state dict plus JSON options.

A saved ANN is a dict that ``torch.load(path, weights_only=True)`` reads (no code
runs when it loads): ``format``, ``format_version``, ``gsnn_version``, ``task``
(``"node"``, ``"graph"`` or ``"image"``; files without it are node classifiers),
``model`` (the ``--model`` name), ``options`` (JSON of the constructor's keyword
arguments), ``training`` (JSON: data set, seed, epochs, activation, test
accuracy) and ``state_dict``. The committed weights of ``experiments/weights/``
(bare state dicts named ``<dataset>-<model>-<activation>-seed<k>.pt``) load too.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn

import gsnn
from gsnn.ann import ReferenceWeights, dual_phase_finetune
from gsnn.cli.console import CommandLineError
from gsnn.cli.datasets import dataset_key
from gsnn.cli.graph_task import GRAPH
from gsnn.cli.image_task import IMAGE
from gsnn.cli.node_task import NODE
from gsnn.cli.task import Task, TaskData
from gsnn.methods import ConversionMethod
from gsnn.serialization import FORMAT as SNN_FORMAT

ANN_FORMAT = "gsnn-ann"
ANN_FORMAT_VERSION = 1
TASKS = {task.name: task for task in (NODE, GRAPH, IMAGE)}


@dataclass
class Training:
    """How a saved ANN was trained, for the record and for a later ``--load``."""

    dataset: str
    seed: int
    epochs: Optional[int]
    activation: str
    test_accuracy: Optional[float]


def train_reference_model(
    args, task: Task, recipe: ConversionMethod, data: TaskData, progress: bool
) -> Tuple[nn.Module, Dict[str, Any], str]:
    """Train the ``--model`` that ``recipe`` converts best; return it, its options and its
    activation.

    The activation is the method's first accepted one, QCFS with ``L = --qcfs-levels``
    (default ``T``); ``noisy_qc`` stands for dual-phase stage 1: learnt clips, then
    fine-tuning with NoisyQC at ``T`` (node classification only). ``args`` holds the
    training options resolved for ``task`` (:func:`gsnn.cli.preflight.resolve_training`).
    """
    activation = recipe.accepted_activations[0]
    options = task.model_options(args.model, data, args.hidden, args.layers, args.residual)
    options["activation"] = "clip" if activation == "noisy_qc" else activation
    if activation == "qcfs":
        options["qcfs_levels"] = args.qcfs_levels or args.T
    torch.manual_seed(args.seed)
    model = task.models[args.model](**options)
    data.train(model, args.epochs, args.seed, progress)
    if activation == "noisy_qc":
        model = dual_phase_finetune(
            model, data.graph, T=args.T, epochs=args.epochs, progress=progress
        )
        options.update(activation="noisy_qc", noisy_qc_steps=args.T)
        return model, options, f"clip, fine-tuned with NoisyQC at T={args.T}"
    if activation == "qcfs":
        return model, options, f"qcfs, L={options['qcfs_levels']}"
    return model, options, activation


def save_ann(
    path: str,
    task: Task,
    name: str,
    model: nn.Module,
    options: Dict[str, Any],
    training: Training,
) -> None:
    """Write ``model``, the architecture ``name`` of ``task.models``, to ``path`` in the
    saved-ANN format."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "format": ANN_FORMAT,
            "format_version": ANN_FORMAT_VERSION,
            "gsnn_version": gsnn.__version__,
            "task": task.name,
            "model": name,
            "options": json.dumps(options),
            "training": json.dumps(asdict(training)),
            "state_dict": model.state_dict(),
        },
        path,
    )


def read_ann_file(path: str, accept_snn: bool = False) -> Dict[str, Any]:
    """The contents of a saved-ANN file, checked; refuse anything else with the fix.

    With ``accept_snn``, a network saved by :func:`gsnn.save` passes too, as its bare
    header (``format`` is :data:`SNN_FORMAT`); :func:`gsnn.load` rebuilds it.
    """
    if not Path(path).is_file():
        raise CommandLineError(f"--load {path}: no such file.")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, or one that needs code to load
        raise CommandLineError(
            f"--load {path}: not a file written by gsnn train or gsnn convert --save ({error})."
        ) from error
    if isinstance(saved, dict) and saved.get("format") == SNN_FORMAT:
        if accept_snn:
            return {"format": SNN_FORMAT, "converted": saved.get("converted")}
        raise CommandLineError(
            f"--load {path} holds a converted SNN (gsnn convert --save), not an ANN; "
            f"evaluate it with gsnn eval --load {path}, or load the ANN it came from."
        )
    if isinstance(saved, dict) and "format" not in saved:
        saved = reference_weights(path, saved)
    if not isinstance(saved, dict) or saved.get("format") != ANN_FORMAT:
        raise CommandLineError(
            f"--load {path}: not a file written by gsnn train or gsnn convert --save."
        )
    if saved["format_version"] > ANN_FORMAT_VERSION:
        raise CommandLineError(
            f"--load {path}: written by gsnn {saved['gsnn_version']} in ANN format "
            f"{saved['format_version']}; this gsnn ({gsnn.__version__}) reads format "
            f"{ANN_FORMAT_VERSION}. Upgrade gsnn."
        )
    models = task_of_saved(saved).models
    if saved["model"] not in models:
        raise CommandLineError(
            f"--load {path} holds a {saved['model']!r} model; this gsnn builds "
            f"{', '.join(models)}. Upgrade gsnn."
        )
    return saved


def reference_weights(path: str, state_dict: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """A committed reference CNN (``experiments/weights/<dataset>-<model>-<activation>
    [L<levels>]-seed<k>.pt``, a bare state dict) in the saved-ANN layout; ``None`` if the
    file's name does not say what it holds."""
    try:
        weights = ReferenceWeights.parse(path)
    except ValueError:
        return None
    options: Dict[str, Any] = {"num_classes": 10, "activation": weights.activation}
    if weights.levels is not None:
        options["qcfs_levels"] = weights.levels
    dataset = dataset_key(weights.dataset) or weights.dataset
    activation = weights.activation if weights.levels is None else f"qcfs, L={weights.levels}"
    training = Training(dataset, weights.seed, None, activation, None)
    return {
        "format": ANN_FORMAT,
        "format_version": ANN_FORMAT_VERSION,
        "gsnn_version": gsnn.__version__,
        "task": IMAGE.name,
        "model": weights.model,
        "options": json.dumps(options),
        "training": json.dumps(asdict(training)),
        "state_dict": state_dict,
    }


def task_of_saved(saved: Dict[str, Any]) -> Task:
    """The task of a saved ANN (files from before tasks were recorded: node)."""
    return TASKS[saved.get("task", NODE.name)]


def load_ann(saved: Dict[str, Any], data: Optional[TaskData] = None) -> Tuple[nn.Module, Training]:
    """Rebuild the saved model in eval mode, refusing data whose features do not fit it."""
    options = json.loads(saved["options"])
    training = training_of(saved)
    fits = data is None or "in_channels" not in options
    if not fits and data.num_features != options["in_channels"]:
        raise CommandLineError(
            f"the saved ANN takes {options['in_channels']} input features (trained on "
            f"{training.dataset}), but the data set has {data.num_features}; pass "
            f"--dataset {training.dataset} or train a model for this data set."
        )
    model = task_of_saved(saved).models[saved["model"]](**options)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), training


def model_description(model: nn.Module, options: Dict[str, Any]) -> str:
    """``"2-layer GCN (hidden 16)"``, ``"3-layer GraphClassifier (gin, hidden 32)"``,
    ``"LeNet5"``."""
    if "num_layers" not in options:
        return type(model).__name__
    conv = f"{options['conv']}, " if "conv" in options else ""
    return (
        f"{options['num_layers']}-layer {type(model).__name__} ({conv}hidden "
        f"{options['hidden_channels']})"
    )


def training_of(saved: Dict[str, Any]) -> Training:
    """How a saved model was trained."""
    return Training(**json.loads(saved["training"]))


def activation_of(saved: Dict[str, Any]) -> str:
    """The ANN activation of a saved model, e.g. ``"qcfs"``."""
    return json.loads(saved["options"])["activation"]
