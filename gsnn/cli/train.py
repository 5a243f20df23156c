"""``gsnn train``: train the reference model a method converts best, and save it."""

import argparse
from pathlib import Path

from gsnn.cli.console import emit, note, progress_enabled
from gsnn.cli.options import (
    HelpFormatter,
    data_options,
    general_options,
    method_options,
    model_options,
)
from gsnn.cli.preflight import check_new_file, check_trainable, checked_recipe, data_setup
from gsnn.cli.reference_model import (
    Training,
    model_description,
    save_ann,
    train_reference_model,
)

EXAMPLES = """examples:
  gsnn train --dataset Cora --method qcfs --T 8 --save cora-qcfs.pt
  gsnn train --dataset CiteSeer --method rate --hidden 64 --layers 3 --residual
  gsnn train --dataset MUTAG --model gin --method qcfs --T 8 --save mutag-gin.pt
  gsnn train --dataset MNIST --method rate --epochs 2
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
        help="train the reference model a method converts best and save it",
        description="Train the reference model of the data set (a GCN or GraphSAGE for "
        "nodes, GIN or GCN with pooling for graphs, a CNN for images) with the activation "
        "the method converts (QCFS for qcfs, ReLU for rate, ...; see gsnn methods) and save "
        "it: a state dict plus its constructor options, loadable with torch.load(path, "
        "weights_only=True).",
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
    check_trainable(setup.task, setup.dataset, args.model, type(recipe))
    path = args.save or default_path(args, setup.dataset)
    check_new_file("--save", path)
    data = setup.load_data(args.seed)
    progress = progress_enabled(args)
    model, options, activation = train_reference_model(args, setup.task, recipe, data, progress)
    accuracy = data.accuracy(model, "test")
    training = Training(setup.dataset, args.seed, args.epochs, activation, accuracy)
    save_ann(path, setup.task, args.model, model, options, training)
    note(args, f"saved the ANN to {path}")
    result = {
        "dataset": setup.dataset,
        "task": setup.task.name,
        "saved": path,
        "model": args.model,
        "for_method": args.method,
        "ann_activation": activation,
        "options": options,
        "seed": args.seed,
        "epochs": args.epochs,
        "accuracy": {split: data.accuracy(model, split) for split in data.splits},
        "test_accuracy": accuracy,
    }
    lines = [
        f"{setup.dataset} ({setup.task.title}), {model_description(model, options)}, ANN "
        f"activation {activation}, seed {args.seed}, {args.epochs} "
        f"epoch{'s' if args.epochs != 1 else ''}"
    ]
    lines += [
        f"  {split:<5} accuracy  {100 * value:.2f} % ({data.size(split)} {data.unit})"
        for split, value in result["accuracy"].items()
    ]
    lines.append(f"  saved to        {path}")
    emit(args, result, "\n".join(lines))
