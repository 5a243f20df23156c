"""``gsnn sweep``: every method at every T on one model, as markdown, JSON and a plot."""

import argparse
import copy
import json
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from tqdm import tqdm

from gsnn.cli.console import CommandLineError, emit, note, progress_enabled
from gsnn.cli.options import (
    HelpFormatter,
    data_options,
    general_options,
    method_options,
    model_options,
    parse_method_options,
)
from gsnn.cli.preflight import (
    Setup,
    check_coding,
    check_converts,
    check_positive,
    check_trainable,
    checked_recipe,
    data_setup,
)
from gsnn.cli.reference_model import (
    activation_of,
    load_ann,
    model_description,
    train_reference_model,
    training_of,
)
from gsnn.convert import convert
from gsnn.methods import METHODS, ConversionMethod
from gsnn.methods.options import method_options as declared_options

EXAMPLES = """examples:
  gsnn sweep --dataset Cora --methods qcfs rate two-phase --T 2 4 8 16 --seeds 0 1 2 3 4
  gsnn sweep --load cora-relu.pt --T 8 32 --output results/cora-relu
  gsnn sweep --dataset MUTAG --methods qcfs rate --T 4 8 16 --seeds 0 1 2
  gsnn sweep --dataset Cora --methods css one-spike --option base=1.5 --T 8 16
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "sweep",
        parents=[
            general_options(
                output_help="prefix of the PREFIX.md, PREFIX.json and PREFIX.png written "
                "(default: sweep-<dataset>-<UTC time> in the current folder)"
            ),
            data_options(),
            method_options(many=True),
            model_options(many_seeds=True),
        ],
        formatter_class=HelpFormatter,
        help="convert one model with many methods at many T; write markdown, JSON and a plot",
        description="For every seed, train the model each method converts best (one per ANN "
        "activation; QCFS with L = T unless --qcfs-levels, dual-phase fine-tuned at each T), "
        "or take the --load model, and convert it with every method at every T. Reports the "
        "test accuracy of ANN and SNN as mean and standard deviation over the seeds, with "
        "latency, spikes per neuron and the energy estimate. A method that cannot run at a "
        "T (e.g. phase below its period) is listed as not run, with the reason.",
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "--load", metavar="PATH", help="one ANN saved by gsnn train, instead of training"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    plt = check_plotting()
    for T in args.T:
        check_positive("--T", T)
    setup = data_setup(args)
    check_coding(setup.task, setup.dataset, args.coding)
    setup.coding = args.coding
    methods, not_run = chosen_methods(args, setup)
    options = parse_method_options(args.option)
    check_options_apply(options, methods)
    cells, not_run_at_T = plan_cells(args, methods, options)
    not_run += not_run_at_T
    prefix = args.output or f"sweep-{Path(setup.dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    args.output = None  # the JSON goes to PREFIX.json, written below
    progress = progress_enabled(args)
    seeds = [training_of(setup.saved).seed] if setup.saved else args.seeds
    models: Dict[Tuple, Any] = {}
    rows = []
    cell_bar = tqdm(total=len(seeds) * len(cells), desc="sweep", disable=not progress)
    for seed in seeds:
        data = setup.load_data(seed)
        for method, T, recipe in cells:
            cell_bar.set_postfix_str(f"seed {seed}, {method}, T={T}")
            model, activation = reference_model(args, setup, data, recipe, T, seed, models)
            calibration = data.calibration(recipe)
            snn = convert(model, method=recipe, T=T, coding=args.coding, **calibration)
            rows.append(
                {
                    "seed": seed,
                    "method": method,
                    "T": T,
                    "ann_activation": activation,
                    "ann_accuracy": data.accuracy(model, "test"),
                    **data.evaluate_snn(snn),
                }
            )
            cell_bar.update()
    cell_bar.close()
    result = {
        "command": "gsnn " + shlex.join(sys.argv[1:]),
        "dataset": setup.dataset,
        "model": describe_model(args, setup),
        "coding": args.coding,
        "method_options": options,
        "seeds": seeds,
        "test_set": f"{data.size('test')} test {data.unit}",
        "unit": data.unit.removesuffix("s"),
        "summary": summarise(rows),
        "not_run": not_run,
        "rows": rows,
    }
    markdown = sweep_markdown(result)
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.md").write_text(markdown)
    Path(f"{prefix}.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(plt, result, f"{prefix}.png")
    note(args, f"wrote {prefix}.md, {prefix}.json and {prefix}.png")
    emit(args, result, markdown.rstrip("\n"))


def check_plotting():
    """matplotlib's pyplot (Agg backend), or a refusal naming the install command."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise CommandLineError(
            "gsnn sweep draws its plot with matplotlib, which is not installed; "
            "pip install matplotlib (or pip install 'gsnn[experiments]')."
        ) from error
    return plt


def chosen_methods(
    args: argparse.Namespace, setup: Setup
) -> Tuple[List[str], List[Dict[str, Any]]]:
    """``--methods`` (refused where they cannot convert or be trained for), by default all
    that can, with the others listed as not run; with ``--load``: those that convert its
    activation."""
    if setup.saved is not None:
        activation = activation_of(setup.saved)
        if args.methods is None:
            fitting = [
                name for name, cls in METHODS.items() if activation in cls.accepted_activations
            ]
            return sorted(fitting), []
        for method in args.methods:
            check_converts(METHODS[method], activation, args.load)
        return args.methods, []
    if args.methods is not None:
        for method in args.methods:
            check_trainable(setup.task, setup.dataset, args.model, METHODS[method])
        return args.methods, []
    methods, not_run = [], []
    for method in sorted(METHODS):
        refusal = setup.task.refusal(setup.dataset, args.model, METHODS[method])
        if refusal:
            not_run.append({"method": method, "T": "any", "reason": refusal})
        else:
            methods.append(method)
    return methods, not_run


def check_options_apply(options: Dict[str, Any], methods: List[str]) -> None:
    """Refuse an ``--option`` that none of the methods has, listing those that have some."""
    names = {
        method: {option.name for option in declared_options(METHODS[method])} for method in methods
    }
    for name in options:
        if not any(name in names[method] for method in methods):
            having = "; ".join(
                f"{method}: {', '.join(sorted(names[method]))}"
                for method in methods
                if names[method]
            )
            raise CommandLineError(
                f"--option {name}: none of the methods {', '.join(methods)} has this option "
                f"(the options they have: {having or 'none'}; see gsnn methods)."
            )


def options_of(method: str, options: Dict[str, Any]) -> Dict[str, Any]:
    """The ``--option`` values that ``method`` has (each option goes to every method with it)."""
    names = {option.name for option in declared_options(METHODS[method])}
    return {name: value for name, value in options.items() if name in names}


def plan_cells(
    args: argparse.Namespace, methods: List[str], options: Dict[str, Any]
) -> Tuple[List[Tuple[str, int, ConversionMethod]], List[Dict[str, Any]]]:
    """The (method, T, recipe) cells to run, and those that cannot run, with the reason."""
    cells, not_run = [], []
    for method in methods:
        levels = args.qcfs_levels if METHODS[method].accepted_activations[0] == "qcfs" else None
        for T in args.T:
            recipe_options = options_of(method, options)
            try:
                recipe = checked_recipe(method, recipe_options, T, args.coding, levels)
            except CommandLineError as error:
                not_run.append({"method": method, "T": T, "reason": str(error)})
            else:
                cells.append((method, T, recipe))
    if not cells:
        reasons = "; ".join(f"{cell['method']} T={cell['T']}: {cell['reason']}" for cell in not_run)
        raise CommandLineError(f"no method can run at the given T: {reasons}")
    return cells, not_run


def reference_model(args, setup, data, recipe, T, seed, models):
    """The ANN of one cell: the loaded one, or one trained per seed and ANN kind (cached)."""
    if setup.saved is not None:
        if "loaded" not in models:
            model, training = load_ann(setup.saved, data)
            models["loaded"] = (model, training.activation)
        return models["loaded"]
    activation = recipe.accepted_activations[0]
    if activation == "qcfs":
        key = (seed, activation, args.qcfs_levels or T)
    elif activation == "noisy_qc":
        key = (seed, activation, T)
    else:
        key = (seed, activation)
    if key not in models:
        cell_args = copy.copy(args)
        cell_args.seed, cell_args.T = seed, T
        model, _, description = train_reference_model(
            cell_args, setup.task, recipe, data, progress_enabled(args)
        )
        models[key] = (model, description)
    return models[key]


def describe_model(args: argparse.Namespace, setup: Setup) -> str:
    if setup.saved is not None:
        model, _ = load_ann(setup.saved)
        return f"{args.load}: {model_description(model, json.loads(setup.saved['options']))}"
    residual = ", residual" if args.residual else ""
    name = setup.task.models[args.model].__name__
    if args.hidden is None:
        return f"{name}, {args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    return (
        f"{args.layers}-layer {name} ({args.model}), hidden {args.hidden}{residual}, "
        f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    )


def mean_std(values: List[float]) -> Tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One entry per (method, T): means and standard deviations over the seeds."""
    groups: Dict[Tuple[str, int], List[Dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["T"]), []).append(row)
    summary = []
    for (method, T), group in groups.items():
        ann = mean_std([row["ann_accuracy"] for row in group])
        snn = mean_std([row["accuracy"] for row in group])
        loss = mean_std([row["ann_accuracy"] - row["accuracy"] for row in group])
        summary.append(
            {
                "method": method,
                "T": T,
                "seeds": len(group),
                "ann_activation": group[0]["ann_activation"],
                "ann_accuracy": ann,
                "snn_accuracy": snn,
                "loss": loss,
                "latency_steps": group[0]["latency_steps"],
                "spikes_per_neuron": statistics.fmean(r["spikes_per_neuron"] for r in group),
                "spikes_per_sample": statistics.fmean(r["spikes_per_sample"] for r in group),
                "energy_ratio": statistics.fmean(r["energy_ratio"] for r in group),
            }
        )
    return summary


def percent(pair: Tuple[float, float]) -> str:
    return f"{100 * pair[0]:.2f} ± {100 * pair[1]:.2f}"


def sweep_markdown(result: Dict[str, Any]) -> str:
    """The sweep as a markdown page: what was run, then one row per method and T."""
    seeds = ", ".join(str(seed) for seed in result["seeds"])
    method_options = "".join(
        f", --option {name}={value!r}" for name, value in result["method_options"].items()
    )
    lines = [
        f"# Sweep on {result['dataset']}",
        "",
        f"Produced by `{result['command']}`: {result['model']}, {result['coding']} input "
        f"coding{method_options}, seeds {seeds}; test accuracy (%) of the ANN and its SNN on "
        f"the same split ({result['test_set']}), mean ± std over the seeds; *loss* = ANN − SNN "
        "in points; *latency* = steps until the output is complete; *energy* = estimated SNN / "
        "ANN energy (45 nm constants).",
        "",
        "| method | T | ANN activation | ANN | SNN | loss | latency | spikes/neuron | "
        f"spikes/{result['unit']} | energy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in result["summary"]:
        lines.append(
            f"| {entry['method']} | {entry['T']} | {entry['ann_activation']} | "
            f"{percent(entry['ann_accuracy'])} | {percent(entry['snn_accuracy'])} | "
            f"{percent(entry['loss'])} | {entry['latency_steps']} | "
            f"{entry['spikes_per_neuron']:.3f} | {entry['spikes_per_sample']:.4g} | "
            f"{entry['energy_ratio']:.3f} |"
        )
    if result["not_run"]:
        lines += ["", "Not run:", ""]
        lines += [
            f"- {cell['method']}{at_T(cell['T'])}: {cell['reason']}" for cell in result["not_run"]
        ]
    return "\n".join(lines) + "\n"


def at_T(T) -> str:
    """``" at T=4"``, or nothing for a method that runs at no T (``"any"``)."""
    return "" if T == "any" else f" at T={T}"


def plot(plt, result: Dict[str, Any], path: str) -> None:
    """SNN test accuracy against T, one line per method (error bars: std over seeds)."""
    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for method in dict.fromkeys(entry["method"] for entry in result["summary"]):
        entries = [entry for entry in result["summary"] if entry["method"] == method]
        axes.errorbar(
            [entry["T"] for entry in entries],
            [100 * entry["snn_accuracy"][0] for entry in entries],
            yerr=[100 * entry["snn_accuracy"][1] for entry in entries],
            marker="o",
            capsize=3,
            label=method,
        )
    axes.set_xscale("log", base=2)
    axes.set_xlabel("T (time steps)")
    axes.set_ylabel("SNN test accuracy (%)")
    axes.set_title(f"{result['dataset']}: {result['model']}")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
