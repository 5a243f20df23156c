"""``gsnn eval``: score a saved ANN or SNN on a data set's train, validation and test nodes."""

import argparse
from typing import Any, Dict, Optional

from gsnn.cli.console import CommandLineError, emit, progress_enabled
from gsnn.cli.options import HelpFormatter, data_options, general_options
from gsnn.cli.preflight import check_positive, data_setup
from gsnn.cli.reference_model import SNN_FORMAT, load_ann, training_of
from gsnn.serialization import load

EXAMPLES = """examples:
  gsnn eval --load cora-qcfs.pt
  gsnn eval --load cora-qcfs.snn --T 16
  gsnn eval --load experiments/weights/cifar10-vggsmall-relu-seed0.pt --test-images 1000
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval",
        parents=[general_options(), data_options()],
        formatter_class=HelpFormatter,
        help="accuracy of a saved ANN or SNN on a data set; per step and statistics for SNNs",
        description="Score an ANN saved by gsnn train, or an SNN saved by gsnn convert --save, "
        "on the train, validation and test split of its data set (images: the test split). "
        "For an SNN also the test accuracy after each step, latency, spikes and the energy "
        "estimate. Both files record the data set and split seed they were made on, and "
        "are evaluated there; a different --dataset for an SNN is refused (its thresholds "
        "were calibrated on its own). An SNN written by gsnn.save in Python records none: "
        "pass --dataset (and --seed for a drawn split).",
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
        help="for an SNN file without a record (gsnn.save), the seed that picks the split of "
        "data sets without a given one (default: 0; files of gsnn train and gsnn convert "
        "--save bring their own)",
    )
    parser.set_defaults(run=run, accepts_snn=True)


def run(args: argparse.Namespace) -> None:
    check_positive("--T", args.T)
    setup = data_setup(args)
    if setup.saved["format"] == SNN_FORMAT:
        seed = snn_seed(args, setup.saved.get("converted"))
        snn = load(args.load)
        if args.T is not None:
            try:
                snn.T = args.T
            except ValueError as error:
                raise CommandLineError(f"--T {args.T}: {error}") from error
        data = setup.load_data(seed)
        result, text = snn_report(args, setup, snn, data, seed)
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


def snn_seed(args: argparse.Namespace, converted: Optional[Dict[str, Any]]) -> int:
    """The split's seed of a saved SNN: its record's; ``--seed`` only for a file without one."""
    if converted is None:
        return args.seed or 0
    if args.seed is not None and args.seed != converted["seed"]:
        raise CommandLineError(
            f"--load {args.load} was converted on the split of seed {converted['seed']}; "
            f"with --seed {args.seed} its training data could be scored as test data; drop "
            "--seed."
        )
    return converted["seed"]


def ann_report(args, setup, data):
    model, training = load_ann(setup.saved, data)
    accuracies = {split: data.accuracy(model, split) for split in data.splits}
    result = {
        "loaded": args.load,
        "kind": "ann",
        "dataset": setup.dataset,
        "task": setup.task.name,
        "ann_activation": training.activation,
        "trained_on": training.dataset,
        "seed": training.seed,
        "accuracy": accuracies,
    }
    lines = [
        f"{args.load}: {type(model).__name__} ({training.activation}) trained on "
        f"{training.dataset}, seed {training.seed}"
    ]
    lines += split_lines(setup.dataset, data, accuracies)
    return result, "\n".join(lines)


def snn_report(args, setup, snn, data, seed: int):
    evaluation = data.evaluate_snn(snn, progress_enabled(args))
    converted = setup.saved.get("converted") or {}
    result: Dict[str, Any] = {
        "loaded": args.load,
        "kind": "snn",
        "dataset": setup.dataset,
        "task": setup.task.name,
        "seed": seed,
        "converted": converted,
        "method": repr(snn.method),
        "T": snn.T,
        "accuracy": evaluation.pop("accuracy_by_split"),
        "test": evaluation,
    }
    per_step = "  ".join(
        f"{step}: {100 * value:.1f}"
        for step, value in enumerate(evaluation["accuracy_per_step"], start=1)
    )
    origin = f", converted at T={converted['T']}" if converted else ""
    lines = [f"{args.load}: SNN, method {result['method']}, T={snn.T}{origin}"]
    lines += split_lines(setup.dataset, data, result["accuracy"])
    lines += [
        f"  test accuracy (%) after each step  {per_step}",
        f"  latency                            {evaluation['latency_steps']} steps",
        f"  spikes per neuron                  {evaluation['spikes_per_neuron']:.3f}",
        f"  spikes per {data.unit.removesuffix('s'):<24}{evaluation['spikes_per_sample']:.4g}",
        f"  energy estimate SNN / ANN          {evaluation['energy_ratio']:.3f}",
        "",
        "Per layer, last pass (energy constants 45 nm; an estimate):",
        snn.last_stats.table(),
    ]
    return result, "\n".join(lines)


def split_lines(dataset: str, data, accuracies: Dict[str, float]):
    return [
        f"  {split:<5} accuracy on {dataset}  {100 * value:.2f} % ({data.size(split)} {data.unit})"
        for split, value in accuracies.items()
    ]
