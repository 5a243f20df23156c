"""``gsnn eval``: score a saved ANN or SNN on a data set's train, validation and test nodes."""

import argparse
from typing import Any, Dict

from gsnn.ann import node_accuracy
from gsnn.cli.console import CommandLineError, emit
from gsnn.cli.options import HelpFormatter, data_options, general_options
from gsnn.cli.preflight import check_positive, data_setup
from gsnn.cli.reference_model import SNN_FORMAT, load_ann, training_of
from gsnn.cli.snn_evaluation import SPLITS, evaluate_snn
from gsnn.serialization import load

EXAMPLES = """examples:
  gsnn eval --load cora-qcfs.pt
  gsnn eval --load cora-qcfs.snn --dataset Cora --T 16
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        parents=[general_options(), data_options()],
        formatter_class=HelpFormatter,
        help="accuracy of a saved ANN or SNN on a data set; per step and statistics for SNNs",
        description="Score an ANN saved by gsnn train, or an SNN saved by gsnn convert --save, "
        "on the train, validation and test nodes of a data set. For an SNN also the test "
        "accuracy after each step, latency, spikes and the energy estimate. An ANN file "
        "remembers its data set; for an SNN file pass --dataset unless it is Cora.",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--load", metavar="PATH", required=True, help="a file of gsnn train or gsnn convert --save"
    )
    parser.add_argument(
        "--T", type=int, help="simulate a saved SNN for this many steps (default: its own T)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="for a saved SNN, the seed that picks the split of graphs without a public one "
        "(default: 0; an ANN file brings its own)",
    )
    parser.set_defaults(run=run, accepts_snn=True)


def run(args: argparse.Namespace) -> None:
    check_positive("--T", args.T)
    setup = data_setup(args)
    if setup.saved["format"] == SNN_FORMAT:
        snn = load(args.load)
        if args.T is not None:
            try:
                snn.T = args.T
            except ValueError as error:
                raise CommandLineError(f"--T {args.T}: {error}") from error
        data = setup.load_data(args.seed or 0)
        result, text = snn_report(args, setup.dataset, snn, data)
    else:
        if args.seed is not None:
            raise CommandLineError(
                f"--seed picks the split for a saved SNN, but {args.load} is an ANN, evaluated "
                "on the split of the seed it was trained with; drop --seed."
            )
        if args.T is not None:
            raise CommandLineError(
                f"--T simulates a saved SNN, but {args.load} is an ANN; convert it with "
                f"gsnn convert --load {args.load} --T {args.T}."
            )
        data = setup.load_data(training_of(setup.saved).seed)
        result, text = ann_report(args, setup, data)
    emit(args, result, text)


def ann_report(args, setup, data):
    model, training = load_ann(setup.saved, data)
    accuracies = {split: node_accuracy(model, data, data[f"{split}_mask"]) for split in SPLITS}
    result = {
        "loaded": args.load,
        "kind": "ann",
        "dataset": setup.dataset,
        "ann_activation": training.activation,
        "trained_on": training.dataset,
        "seed": training.seed,
        "accuracy": accuracies,
    }
    lines = [
        f"{args.load}: {type(model).__name__} ({training.activation}) trained on "
        f"{training.dataset}, "
        f"seed {training.seed}"
    ]
    lines += split_lines(setup.dataset, data, accuracies)
    return result, "\n".join(lines)


def snn_report(args, dataset: str, snn, data):
    evaluation = evaluate_snn(snn, data, data.test_mask)
    result: Dict[str, Any] = {
        "loaded": args.load,
        "kind": "snn",
        "dataset": dataset,
        "method": repr(snn.method),
        "T": snn.T,
        "accuracy": evaluation.pop("accuracy_by_split"),
        "test": evaluation,
    }
    per_step = "  ".join(
        f"{step}: {100 * value:.1f}"
        for step, value in enumerate(evaluation["accuracy_per_step"], start=1)
    )
    lines = [f"{args.load}: SNN, method {result['method']}, T={snn.T}"]
    lines += split_lines(dataset, data, result["accuracy"])
    lines += [
        f"  test accuracy (%) after each step  {per_step}",
        f"  latency                            {evaluation['latency_steps']} steps",
        f"  spikes per neuron                  {evaluation['spikes_per_neuron']:.3f}",
        f"  energy estimate SNN / ANN          {evaluation['energy_ratio']:.3f}",
        "",
        "Per layer (energy constants 45 nm; an estimate):",
        snn.last_stats.table(),
    ]
    return result, "\n".join(lines)


def split_lines(dataset: str, data, accuracies: Dict[str, float]):
    return [
        f"  {split:<5} accuracy on {dataset}  {100 * value:.2f} % "
        f"({int(data[f'{split}_mask'].sum())} nodes)"
        for split, value in accuracies.items()
    ]
