"""``gsnn train``: train the reference model a method converts best, and save it."""

import argparse
from pathlib import Path

from gsnn.ann import node_accuracy
from gsnn.cli.console import emit, note, progress_enabled
from gsnn.cli.options import (
    HelpFormatter,
    data_options,
    general_options,
    method_options,
    model_options,
)
from gsnn.cli.preflight import check_new_file, checked_recipe, data_setup
from gsnn.cli.reference_model import Training, save_ann, train_reference_model

EXAMPLES = """examples:
  gsnn train --dataset Cora --method qcfs --T 8 --save cora-qcfs.pt
  gsnn train --dataset CiteSeer --method rate --hidden 64 --layers 3 --residual
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        parents=[
            general_options(),
            data_options(),
            method_options(converts=False),
            model_options(),
        ],
        formatter_class=HelpFormatter,
        help="train the GCN (or GraphSAGE) a method converts best and save it",
        description="Train the reference GCN or GraphSAGE with the activation the method "
        "converts (QCFS for qcfs, ReLU for rate, ...; see gsnn methods) and save it: a state "
        "dict plus its constructor options, loadable with torch.load(path, weights_only=True).",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--save",
        metavar="PATH",
        help="where to save the ANN; never overwritten (default: "
        "<dataset>-<model>-<method>-T<T>-seed<seed>.pt in the current folder)",
    )
    parser.set_defaults(run=run)


def default_path(args: argparse.Namespace, dataset: str) -> str:
    return f"{Path(dataset).stem}-{args.model}-{args.method}-T{args.T}-seed{args.seed}.pt"


def run(args: argparse.Namespace) -> None:
    recipe = checked_recipe(args.method, {}, args.T, "analog", args.qcfs_levels)
    setup = data_setup(args)
    path = args.save or default_path(args, setup.dataset)
    check_new_file("--save", path)
    data = setup.load_data(args.seed)
    model, options, activation = train_reference_model(args, recipe, data, progress_enabled(args))
    accuracy = node_accuracy(model, data)
    training = Training(setup.dataset, args.seed, args.epochs, activation, accuracy)
    save_ann(path, args.model, model, options, training)
    note(args, f"saved the ANN to {path}")
    result = {
        "dataset": setup.dataset,
        "saved": path,
        "for_method": args.method,
        "ann_activation": activation,
        "options": options,
        "seed": args.seed,
        "epochs": args.epochs,
        "validation_accuracy": node_accuracy(model, data, data.val_mask),
        "test_accuracy": accuracy,
    }
    text = (
        f"{setup.dataset}, {args.layers}-layer {type(model).__name__} (hidden {args.hidden}, "
        "ANN activation "
        f"{activation}), seed {args.seed}, {args.epochs} epochs\n"
        f"  validation accuracy  {100 * result['validation_accuracy']:.2f} %\n"
        f"  test accuracy        {100 * accuracy:.2f} %\n"
        f"  saved to             {path}"
    )
    emit(args, result, text)
