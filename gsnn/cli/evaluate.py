"""``gsnn eval``: score a saved ANN on a data set's train, validation and test nodes."""

import argparse

from gsnn.ann import node_accuracy
from gsnn.cli.console import emit
from gsnn.cli.options import HelpFormatter, data_options, general_options
from gsnn.cli.preflight import data_setup
from gsnn.cli.reference_model import load_ann

SPLITS = ("train", "val", "test")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        parents=[general_options(), data_options()],
        formatter_class=HelpFormatter,
        help="accuracy of a saved ANN on a data set",
        description="Score an ANN saved by gsnn train on the train, validation and test "
        "nodes of a data set (by default the one it was trained on).",
        epilog="example:\n  gsnn eval --load cora-qcfs.pt",
    )
    parser.add_argument("--load", metavar="PATH", required=True, help="an ANN saved by gsnn train")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    setup = data_setup(args)
    data = setup.load_data()
    model, training = load_ann(setup.saved, data)
    accuracies = {split: node_accuracy(model, data, data[f"{split}_mask"]) for split in SPLITS}
    result = {
        "loaded": args.load,
        "dataset": setup.dataset,
        "ann_activation": training.activation,
        "trained_on": training.dataset,
        "seed": training.seed,
        "accuracy": accuracies,
    }
    lines = [
        f"{args.load}: GCN ({training.activation}) trained on {training.dataset}, "
        f"seed {training.seed}"
    ]
    lines += [
        f"  {split:<5} accuracy on {setup.dataset}  {100 * value:.2f} % "
        f"({int(data[f'{split}_mask'].sum())} nodes)"
        for split, value in accuracies.items()
    ]
    emit(args, result, "\n".join(lines))
