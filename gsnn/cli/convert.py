"""``gsnn convert``: convert a saved or freshly trained ANN, print ANN against SNN."""

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List

from gsnn.ann import node_accuracy
from gsnn.cli.console import emit, note, progress_enabled
from gsnn.cli.options import (
    HelpFormatter,
    data_options,
    general_options,
    method_options,
    model_options,
)
from gsnn.cli.preflight import check_new_file, conversion_setup
from gsnn.cli.reference_model import load_ann, train_reference_model, training_of
from gsnn.cli.snn_evaluation import evaluate_snn
from gsnn.convert import convert, site_error_table, site_errors
from gsnn.serialization import save

EXAMPLES = """examples:
  gsnn convert --dataset Cora --method qcfs --T 8
  gsnn convert --load cora-qcfs.pt --method two-phase --T 8 --save cora-two-phase.snn
  gsnn convert --method one-spike --option base=1.5 --T 16 --site-errors
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "convert",
        parents=[general_options(), data_options(), method_options(), model_options()],
        formatter_class=HelpFormatter,
        help="convert an ANN (saved by gsnn train, or trained now) and compare it with its SNN",
        description="Convert a trained GCN or GraphSAGE into a spiking network and print "
        "the ANN against the SNN on the test nodes. Without --load, first trains the model "
        "the method converts best (see gsnn methods).",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--load", metavar="PATH", help="an ANN saved by gsnn train, instead of training one"
    )
    parser.add_argument(
        "--save",
        metavar="PATH",
        help="also save the SNN there (gsnn.save; never overwrites; gsnn eval --load reads it)",
    )
    parser.add_argument(
        "--site-errors",
        action="store_true",
        help="also print every neuron site against its ANN activation on the test nodes",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    setup, recipe = conversion_setup(args)
    check_new_file("--save", args.save)
    progress = progress_enabled(args)
    if setup.saved is not None:
        training = training_of(setup.saved)
        data = setup.load_data(training.seed)
        model, _ = load_ann(setup.saved, data)
        activation, seed = training.activation, training.seed
    else:
        data = setup.load_data(args.seed)
        model, _, activation = train_reference_model(args, recipe, data, progress)
        seed = args.seed
    ann_accuracy = node_accuracy(model, data)
    # calibration never sees test labels; dual-phase stage 2 fits the SNN to the ANN, so it
    # is kept off the test nodes altogether
    calibration = data.train_mask | data.val_mask if recipe.calibrates_network else None
    snn = convert(
        model,
        data,
        method=recipe,
        T=args.T,
        coding=args.coding,
        mask=calibration,
        progress=progress,
    )
    if args.save:
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        save(snn, args.save)
        note(args, f"saved the SNN to {args.save}")
    mask = data.test_mask
    snn_result = evaluate_snn(snn, data, mask)
    result: Dict[str, Any] = {
        "dataset": setup.dataset,
        "model": type(model).__name__,
        "layers": len(model.convs),
        "hidden": model.convs[0].out_channels,
        "ann_activation": activation,
        "method": repr(snn.method),
        "T": args.T,
        "coding": args.coding,
        "seed": seed,
        "test_nodes": int(mask.sum()),
        "ann_accuracy": ann_accuracy,
        "snn": snn_result,
        "agreement_on_calibration": snn.conversion_check["agreement"],
    }
    text = comparison_text(result) + "\n\nPer layer (energy constants 45 nm; an estimate):\n"
    text += snn.last_stats.table()
    if args.site_errors:
        errors = site_errors(snn, model, data.x, data.edge_index, mask=mask)
        result["site_errors"] = [asdict(error) for error in errors]
        text += "\n\nPer neuron site against its ANN activation (test nodes):\n"
        text += site_error_table(errors)
    emit(args, result, text)


def comparison_text(result: Dict[str, Any]) -> str:
    """The human-readable ANN-versus-SNN table of one conversion."""
    snn = result["snn"]
    header = (
        f"\n{result['dataset']}, {result['layers']}-layer {result['model']} "
        f"(hidden {result['hidden']}, ANN activation {result['ann_activation']}), "
        f"method {result['method']}, T={result['T']}, {result['coding']} input coding, "
        f"seed {result['seed']}, test nodes {result['test_nodes']}\n"
    )
    rows: List = [
        ("ANN test accuracy", f"{100 * result['ann_accuracy']:.2f} %"),
        ("SNN test accuracy", f"{100 * snn['accuracy']:.2f} %"),
        ("conversion loss", f"{100 * (result['ann_accuracy'] - snn['accuracy']):+.2f} points"),
        ("ANN-SNN agreement (calibration)", f"{100 * result['agreement_on_calibration']:.2f} %"),
        ("latency", f"{snn['latency_steps']} steps"),
        ("spikes per neuron", f"{snn['spikes_per_neuron']:.3f}"),
        ("synaptic operations", f"{snn['synaptic_ops']:.4g}"),
        ("SNN MACs (analog input layer)", f"{snn['macs']:.4g}"),
        ("ANN MACs", f"{snn['ann_macs']:.4g}"),
        ("energy estimate SNN / ANN", f"{snn['energy_ratio']:.3f}"),
        ("SNN inference time", f"{1000 * snn['inference_seconds']:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    return header + "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)
