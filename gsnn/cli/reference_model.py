"""The reference models the commands train, and their file: a state dict plus JSON options.

A saved ANN is a dict that ``torch.load(path, weights_only=True)`` reads (no code
runs when it loads): ``format``, ``format_version``, ``gsnn_version``, ``model``
(the architecture name), ``options`` (JSON of the constructor's keyword
arguments), ``training`` (JSON: data set, seed, epochs, activation, test
accuracy) and ``state_dict``.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from torch import nn
from torch_geometric.data import Data

import gsnn
from gsnn.ann import GCN, GraphSAGE, dual_phase_finetune, train_node_classifier
from gsnn.cli.console import CommandLineError
from gsnn.methods import ConversionMethod
from gsnn.serialization import FORMAT as SNN_FORMAT

ANN_FORMAT = "gsnn-ann"
ANN_FORMAT_VERSION = 1
# the architectures by the name --model takes; both take the same constructor options
MODELS = {"gcn": GCN, "sage": GraphSAGE}


@dataclass
class Training:
    """How a saved ANN was trained, for the record and for a later ``--load``."""

    dataset: str
    seed: int
    epochs: int
    activation: str
    test_accuracy: float


def train_reference_model(
    args, recipe: ConversionMethod, data: Data, progress: bool
) -> Tuple[nn.Module, Dict[str, Any], str]:
    """Train the ``--model`` that ``recipe`` converts best; return it, its options and its
    activation.

    The activation is the method's first accepted one, QCFS with ``L = --qcfs-levels``
    (default ``T``); ``noisy_qc`` stands for dual-phase stage 1: learnt clips, then
    fine-tuning with NoisyQC at ``T``.
    """
    activation = recipe.accepted_activations[0]
    options: Dict[str, Any] = dict(
        in_channels=data.num_features,
        hidden_channels=args.hidden,
        out_channels=int(data.y.max()) + 1,
        num_layers=args.layers,
        activation="clip" if activation == "noisy_qc" else activation,
        residual=args.residual,
    )
    if activation == "qcfs":
        options["qcfs_levels"] = args.qcfs_levels or args.T
    torch.manual_seed(args.seed)
    model = MODELS[args.model](**options)
    train_node_classifier(model, data, epochs=args.epochs, progress=progress)
    if activation == "noisy_qc":
        model = dual_phase_finetune(model, data, T=args.T, epochs=args.epochs, progress=progress)
        options.update(activation="noisy_qc", noisy_qc_steps=args.T)
        return model, options, f"clip, fine-tuned with NoisyQC at T={args.T}"
    if activation == "qcfs":
        return model, options, f"qcfs, L={options['qcfs_levels']}"
    return model, options, activation


def save_ann(
    path: str, name: str, model: nn.Module, options: Dict[str, Any], training: Training
) -> None:
    """Write ``model``, the architecture ``name`` of :data:`MODELS`, to ``path`` in the
    saved-ANN format."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "format": ANN_FORMAT,
            "format_version": ANN_FORMAT_VERSION,
            "gsnn_version": gsnn.__version__,
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
            return {"format": SNN_FORMAT}
        raise CommandLineError(
            f"--load {path} holds a converted SNN (gsnn convert --save), not an ANN; "
            f"evaluate it with gsnn eval --load {path}, or load the ANN it came from."
        )
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
    if saved["model"] not in MODELS:
        raise CommandLineError(
            f"--load {path} holds a {saved['model']!r} model; this gsnn builds "
            f"{', '.join(MODELS)}. Upgrade gsnn."
        )
    return saved


def load_ann(saved: Dict[str, Any], data: Optional[Data] = None) -> Tuple[nn.Module, Training]:
    """Rebuild the saved model in eval mode, refusing a graph whose features do not fit it."""
    options = json.loads(saved["options"])
    training = training_of(saved)
    if data is not None and data.num_features != options["in_channels"]:
        raise CommandLineError(
            f"the saved ANN takes {options['in_channels']} input features (trained on "
            f"{training.dataset}), but the data set has {data.num_features}; pass "
            f"--dataset {training.dataset} or train a model for this data set."
        )
    model = MODELS[saved["model"]](**options)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), training


def training_of(saved: Dict[str, Any]) -> Training:
    """How a saved model was trained."""
    return Training(**json.loads(saved["training"]))


def activation_of(saved: Dict[str, Any]) -> str:
    """The ANN activation of a saved model, e.g. ``"qcfs"``."""
    return json.loads(saved["options"])["activation"]
