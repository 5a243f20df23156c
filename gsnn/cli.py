"""The ``gsnn`` command line: train a reference GCN, convert it, compare ANN and SNN."""

import argparse
import ast
import logging
import time
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch_geometric.transforms as transforms

import gsnn
from gsnn.ann import GCN, dual_phase_finetune, node_accuracy, train_node_classifier
from gsnn.coding import CODERS
from gsnn.data import DatasetUnavailableError, planetoid
from gsnn.methods import METHODS, ConversionMethod, get_method


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gsnn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser(
        "convert", help="train a GCN on a Planetoid graph, convert it, print ANN vs SNN"
    )
    convert.add_argument("--dataset", default="Cora", help="Cora, CiteSeer or PubMed")
    convert.add_argument("--model", default="gcn", choices=["gcn"], help="reference model")
    convert.add_argument("--method", default="qcfs", choices=sorted(METHODS))
    convert.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a method option, e.g. --option base=1.5 (repeatable)",
    )
    convert.add_argument("--T", type=int, default=8, help="time steps")
    convert.add_argument("--coding", default="analog", choices=sorted(CODERS))
    convert.add_argument("--hidden", type=int, default=16)
    convert.add_argument("--layers", type=int, default=2)
    convert.add_argument("--residual", action="store_true", help="residual middle layers")
    convert.add_argument("--qcfs-levels", type=int, default=None, help="QCFS levels L (default: T)")
    convert.add_argument("--epochs", type=int, default=200)
    convert.add_argument("--seed", type=int, default=0)
    convert.add_argument("--root", default="datasets/", help="data root")
    convert.add_argument(
        "--site-errors",
        action="store_true",
        help="also print every neuron site against its ANN activation on the test nodes",
    )
    return parser


def parse_method_options(pairs: List[str]) -> Dict[str, Any]:
    """``["base=1.5", "percentile=99.99"]`` to keyword arguments (Python literals, else text)."""
    options = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"--option takes NAME=VALUE (e.g. --option base=1.5), got {pair!r}.")
        try:
            options[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[name] = text
    return options


def train_reference_gcn(
    args: argparse.Namespace, recipe: ConversionMethod, data
) -> Tuple[torch.nn.Module, str]:
    """Train the GCN the method converts best; return it and a description of its activation.

    The ANN activation is the method's first accepted one. ``noisy_qc`` stands for the
    dual-phase stage 1: train with learnt clips, then fine-tune with NoisyQC at ``T``.
    """
    activation = recipe.accepted_activations[0]
    options = {}
    if activation == "qcfs":
        options = {"qcfs_levels": args.qcfs_levels or args.T}
    model = GCN(
        data.num_features,
        args.hidden,
        int(data.y.max()) + 1,
        num_layers=args.layers,
        activation="clip" if activation == "noisy_qc" else activation,
        residual=args.residual,
        **options,
    )
    train_node_classifier(model, data, epochs=args.epochs, progress=True)
    if activation == "noisy_qc":
        model = dual_phase_finetune(model, data, T=args.T, epochs=args.epochs)
        return model, f"clip, fine-tuned with NoisyQC at T={args.T}"
    if activation == "qcfs":
        return model, f"qcfs, L={options['qcfs_levels']}"
    return model, activation


def run_convert(args: argparse.Namespace) -> None:
    method_options = parse_method_options(args.option)
    recipe = get_method(args.method, **method_options)  # bad options fail before training
    activation = recipe.accepted_activations[0]
    if args.qcfs_levels is not None and activation != "qcfs":
        raise ValueError(
            f"--qcfs-levels sets the levels of a QCFS ANN, but method {args.method!r} converts "
            f"a {activation} ANN; drop the option or use --method qcfs or two-phase."
        )
    torch.manual_seed(args.seed)
    data = planetoid(args.dataset, root=args.root, transform=transforms.NormalizeFeatures())
    model, activation = train_reference_gcn(args, recipe, data)
    ann_accuracy = node_accuracy(model, data)

    # calibration never sees test labels; dual-phase stage 2 fits the SNN to the ANN, so it
    # is kept off the test nodes altogether
    calibration = None
    if recipe.calibrates_network:
        calibration = data.train_mask | data.val_mask
    snn = gsnn.convert(
        model,
        data,
        method=recipe,
        T=args.T,
        coding=args.coding,
        mask=calibration,
        progress=True,
    )
    started = time.perf_counter()
    with torch.no_grad():
        prediction = snn(data.x, data.edge_index).argmax(dim=-1)
    elapsed = time.perf_counter() - started
    mask = data.test_mask
    snn_accuracy = float((prediction[mask] == data.y[mask]).float().mean())
    stats = snn.last_stats
    print(
        f"\n{args.dataset}, {args.layers}-layer GCN (hidden {args.hidden}, ANN activation "
        f"{activation}), method {snn.method!r}, T={args.T}, {args.coding} input coding, "
        f"seed {args.seed}, test nodes {int(mask.sum())}\n"
    )
    rows = [
        ("ANN test accuracy", f"{100 * ann_accuracy:.2f} %"),
        ("SNN test accuracy", f"{100 * snn_accuracy:.2f} %"),
        ("conversion loss", f"{100 * (ann_accuracy - snn_accuracy):+.2f} points"),
        ("ANN-SNN agreement (calibration)", f"{100 * snn.conversion_check['agreement']:.2f} %"),
        ("latency", f"{snn.latency_steps} steps"),
        ("spikes per neuron", f"{stats.spikes_per_neuron:.3f}"),
        ("synaptic operations", f"{stats.synaptic_ops:.4g}"),
        ("SNN MACs (analog input layer)", f"{stats.macs:.4g}"),
        ("ANN MACs", f"{stats.ann_macs:.4g}"),
        ("energy estimate SNN / ANN", f"{stats.energy_ratio:.3f}"),
        ("SNN inference time", f"{1000 * elapsed:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print("\nPer layer (energy constants 45 nm; an estimate):")
    print(stats.table())
    if args.site_errors:
        errors = gsnn.site_errors(snn, model, data.x, data.edge_index, mask=mask)
        print("\nPer neuron site against its ANN activation (test nodes):")
        print(gsnn.site_error_table(errors))


def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        if args.command == "convert":
            run_convert(args)
    except (DatasetUnavailableError, ValueError) as error:
        print(f"gsnn: error: {error}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
