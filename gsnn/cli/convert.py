"""``gsnn convert``: convert a saved or freshly trained ANN, print ANN against SNN."""

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List

from gsnn.cli.console import CommandLineError, emit, note, progress_enabled
from gsnn.cli.distributed_check import (
    add_options,
    check_options,
    distributed_text,
    rank_zero_first,
    reports,
    run_distributed,
    torchrun_group,
)
from gsnn.cli.options import (
    HelpFormatter,
    data_options,
    general_options,
    method_options,
    model_options,
)
from gsnn.cli.preflight import check_new_file, conversion_setup
from gsnn.cli.reference_model import (
    load_ann,
    model_description,
    train_reference_model,
    training_of,
)
from gsnn.cli.snn_file import save_snn
from gsnn.convert import convert, site_error_table, site_errors

EXAMPLES = """examples:
  gsnn convert --dataset Cora --method qcfs --T 8
  gsnn convert --load cora-qcfs.pt --method two-phase --T 8 --save cora-two-phase.snn
  gsnn convert --method one-spike --option base=1.5 --T 16 --site-errors
  gsnn convert --dataset MUTAG --model gin --method qcfs --T 8
  gsnn convert --load experiments/weights/mnist-lenet5-qcfsL4-seed0.pt --T 4
  gsnn convert --load cora-qcfs.pt --T 8 --distributed 2
  torchrun --nproc_per_node 2 -m gsnn convert --load cora-qcfs.pt --T 8 --distributed 2
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "convert",
        parents=[general_options(), data_options(), method_options(), model_options()],
        formatter_class=HelpFormatter,
        help="convert an ANN (saved by gsnn train, or trained now) and compare it with its SNN",
        description="Convert a trained model into a spiking network and print the ANN "
        "against the SNN on the test nodes, graphs or images. Without --load, first trains "
        "the model the method converts best (see gsnn methods). Calibration never sees test "
        "data: the whole graph (labels unused) for node classification, a DataLoader of the "
        "training graphs for graph classification, 512 training images for images.",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--load",
        metavar="PATH",
        help="an ANN saved by gsnn train, or a reference CNN of experiments/weights/, instead "
        "of training one",
    )
    parser.add_argument(
        "--save",
        metavar="PATH",
        help="also save the SNN there (gsnn.save, plus the data set, model, method and T it "
        "was converted with; never overwrites; gsnn eval --load reads it)",
    )
    parser.add_argument(
        "--site-errors",
        action="store_true",
        help="also print every neuron site against its ANN activation on the test nodes or graphs",
    )
    add_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup, recipe = conversion_setup(args)
    check_options(args, setup.task, setup.dataset)
    with torchrun_group(args):
        return convert_and_compare(args, setup, recipe)


def convert_and_compare(args: argparse.Namespace, setup, recipe) -> int:
    """Convert, evaluate, print; 1 if ``--distributed`` found unequal logits, else 0."""
    if reports(args):  # one rank of a torchrun launch writes the files
        check_new_file("--save", args.save)
    if args.site_errors and setup.task.name not in ("node", "graph"):
        raise CommandLineError(
            "--site-errors compares neuron sites on the test nodes of a graph or on the test "
            f"graphs; {setup.dataset} is {setup.task.title}; drop it."
        )
    progress = progress_enabled(args)
    if setup.saved is not None:
        training = training_of(setup.saved)
        with rank_zero_first(args):
            data = setup.load_data(training.seed)
        model, _ = load_ann(setup.saved, data)
        options = json.loads(setup.saved["options"])
        activation, seed, name = training.activation, training.seed, setup.saved["model"]
    else:
        with rank_zero_first(args):
            data = setup.load_data(args.seed)
        model, options, activation = train_reference_model(args, setup.task, recipe, data, progress)
        seed, name = args.seed, args.model
    ann_accuracy = data.accuracy(model, "test")
    snn = convert(
        model,
        method=recipe,
        T=args.T,
        coding=args.coding,
        progress=progress,
        **data.calibration(recipe),
    )
    result: Dict[str, Any] = {
        "dataset": setup.dataset,
        "task": setup.task.name,
        "model": name,
        "architecture": model_description(model, options),
        "ann_activation": activation,
        "method": repr(snn.method),
        "T": args.T,
        "coding": args.coding,
        "seed": seed,
        "unit": data.unit,
        "test_size": data.size("test"),
        "ann_accuracy": ann_accuracy,
    }
    if args.save and reports(args):
        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        record = {key: result[key] for key in ("dataset", "seed", "task", "model", "T", "coding")}
        record.update(ann=args.load, ann_activation=activation, method=args.method)
        save_snn(snn, args.save, record)
        note(args, f"saved the SNN to {args.save}")
    result["snn"] = data.evaluate_snn(snn, progress)
    result["agreement_on_calibration"] = snn.conversion_check["agreement"]
    text = comparison_text(result) + "\n\nPer layer, last pass (energy constants 45 nm; an "
    text += "estimate):\n" + snn.last_stats.table()
    if args.site_errors:
        inputs, options = data.site_error_inputs()
        errors = site_errors(snn, model, *inputs, **options)
        result["site_errors"] = [asdict(error) for error in errors]
        text += f"\n\nPer neuron site against its ANN activation (test {data.unit}):\n"
        text += site_error_table(errors)
    if args.distributed is not None:
        report = run_distributed(args, snn, data.graph)
        if report is None:  # not rank 0 of a torchrun launch
            return 0
        result["distributed"] = report
        text += distributed_text(report)
    emit(args, result, text)
    return 0 if result.get("distributed", {}).get("logits_equal", True) else 1


def comparison_text(result: Dict[str, Any]) -> str:
    """The human-readable ANN-versus-SNN table of one conversion."""
    snn = result["snn"]
    header = (
        f"\n{result['dataset']}, {result['architecture']}, ANN activation "
        f"{result['ann_activation']}, method {result['method']}, T={result['T']}, "
        f"{result['coding']} input coding, seed {result['seed']}, test {result['unit']} "
        f"{result['test_size']}\n"
    )
    rows: List = [
        ("ANN test accuracy", f"{100 * result['ann_accuracy']:.2f} %"),
        ("SNN test accuracy", f"{100 * snn['accuracy']:.2f} %"),
        ("conversion loss", f"{100 * (result['ann_accuracy'] - snn['accuracy']):+.2f} points"),
        ("ANN-SNN agreement (calibration)", f"{100 * result['agreement_on_calibration']:.2f} %"),
        ("latency", f"{snn['latency_steps']} steps"),
        ("spikes per neuron", f"{snn['spikes_per_neuron']:.3f}"),
        (f"spikes per {result['unit'].removesuffix('s')}", f"{snn['spikes_per_sample']:.4g}"),
        ("synaptic operations", f"{snn['synaptic_ops']:.4g}"),
        ("SNN MACs (analog input layer)", f"{snn['macs']:.4g}"),
        ("ANN MACs", f"{snn['ann_macs']:.4g}"),
        ("energy estimate SNN / ANN", f"{snn['energy_ratio']:.3f}"),
        ("SNN inference time", f"{1000 * snn['inference_seconds']:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    return header + "\n".join(f"  {name:<{width}}  {value}" for name, value in rows)
