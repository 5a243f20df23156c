"""Speed of the converted SNN against its ANN, and of time-stacked vs step-by-step simulation.

Reproduce the committed results:

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py \
        --output experiments/results/benchmark_speed.md
    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py \
        --workload mnist-lenet5 --T 4 --output experiments/results/benchmark_speed_mnist-lenet5.md

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py --grid \
        --repeats 5 --output experiments/results/benchmark_speed_grid.md

``--grid`` times Cora GCNs of every ``--hidden`` width at every ``--grid-T`` for every
``--methods`` entry against the ANN and against an honest baseline, a per-step loop over the
same modules that computes the first layer once (online methods), on one torch thread, as
the minimum CPU time (``time.process_time``) over interleaved repeats.

``cora-gcn`` trains the reference 2-layer GCN (hidden 16, QCFS with L = T) on Cora
(public split, row-normalised features, seed 0); ``mnist-lenet5`` loads the committed
LeNet-5 QCFS weights (seed 0) and runs a batch of ``--images`` MNIST test images. Either
is converted with ``qcfs`` and timed on one torch thread, in one run and interleaved so
machine load affects all alike, as the minimum CPU time (``time.process_time``) over
``--repeats`` calls of:

- the ANN forward pass;
- the SNN forward pass (layer-major: every layer processes all T steps at once,
  graph aggregation as one sparse matmul), with and without statistics;
- the same SNN simulated one step at a time through the same ops
  (``SpikingNetwork.forward_stepwise``).

Only ratios are reported; absolute times depend on the machine. Writes ``--output``
(default: a new ``benchmark_speed-<UTC time>.md`` in the current folder, so that committed
results change only when asked). ``gsnn bench speed`` runs the same code.
"""

import argparse
import functools
import os
import time
from pathlib import Path

import torch
import torch_geometric.transforms as transforms
from torch import Tensor, fx

import gsnn
from gsnn.ann import GCN, load_reference_model, train_node_classifier
from gsnn.data import mnist, planetoid
from gsnn.neurons import Neuron

WEIGHTS = Path(__file__).parent / "weights"


def cora_gcn(args):
    """The trained 2-layer GCN on Cora, its inputs and a description."""
    torch.manual_seed(args.seed)
    data = planetoid(args.dataset, root=args.root, transform=transforms.NormalizeFeatures())
    model = GCN(
        data.num_features,
        16,
        int(data.y.max()) + 1,
        activation="qcfs",
        qcfs_levels=args.T,
    )
    train_node_classifier(model, data)
    description = f"{args.dataset} public split, 2-layer GCN hidden 16, QCFS L=T"
    return model, data, (data.x, data.edge_index), description


def mnist_lenet5(args):
    """The committed LeNet-5 QCFS model, a batch of MNIST test images and a description."""
    path = next(WEIGHTS.glob(f"mnist-lenet5-qcfsL*-seed{args.seed}.pt"))
    model = load_reference_model(str(path))
    images = mnist("test", root=args.root).tensors[0][: args.images]
    calibration = mnist("train", root=args.root).tensors[0][:1000]
    description = f"{args.images} MNIST test images, LeNet-5 ({path.name})"
    return model, calibration, (images,), description


WORKLOADS = {"cora-gcn": cora_gcn, "mnist-lenet5": mnist_lenet5}
GRID_METHODS = ("qcfs", "rate", "one-spike", "css")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared with ``gsnn bench speed``)."""
    parser.add_argument(
        "--workload",
        choices=sorted(WORKLOADS),
        default="cora-gcn",
        help="what is timed",
    )
    parser.add_argument("--dataset", default="Cora", help="Planetoid data set of cora-gcn")
    parser.add_argument("--images", type=int, default=1000, help="batch of mnist-lenet5")
    parser.add_argument("--T", type=int, default=8, help="time steps")
    parser.add_argument("--repeats", type=int, default=30, help="interleaved timed calls each")
    parser.add_argument("--seed", type=int, default=0, help="seed of the trained model")
    parser.add_argument("--root", default="datasets/", help="data root")
    parser.add_argument("--grid", action="store_true", help="time the grid instead of one SNN")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 256], help="GCN widths")
    parser.add_argument("--grid-T", type=int, nargs="+", default=[4, 8, 32], help="time steps")
    parser.add_argument("--methods", nargs="+", default=list(GRID_METHODS), help="methods")
    parser.add_argument("--qcfs-levels", type=int, default=8, help="L of the QCFS models")


def measure(args) -> dict:
    """Time the calls of the docstring; return their minima relative to the ANN forward."""
    if getattr(args, "grid", False):
        return measure_grid(args)
    model, calibration, inputs, description = WORKLOADS[args.workload](args)
    snn = gsnn.convert(model, calibration, method="qcfs", T=args.T)

    def without_stats(*x):
        snn.record_stats = False
        try:
            return snn(*x)
        finally:
            snn.record_stats = True

    candidates = {
        "ANN forward": model,
        "SNN time-stacked (with statistics)": snn,
        "SNN time-stacked (no statistics)": without_stats,
        "SNN step by step (same ops)": snn.forward_stepwise,
    }
    with torch.no_grad():
        torch.testing.assert_close(snn.forward_stepwise(*inputs), without_stats(*inputs))
    best = time_interleaved(candidates, inputs, args.repeats)
    ann = best["ANN forward"]
    stacked = best["SNN time-stacked (no statistics)"]
    return {
        "description": description,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "time_over_ann_forward": {name: value / ann for name, value in best.items()},
        "snn_over_ann": stacked / ann,
        "snn_with_statistics_over_ann": best["SNN time-stacked (with statistics)"] / ann,
        "step_by_step_over_time_stacked": best["SNN step by step (same ops)"] / stacked,
    }


def markdown(args, result: dict) -> str:
    """The results page of one run."""
    if getattr(args, "grid", False):
        return markdown_grid(args, result)
    lines = [
        "# Speed: SNN vs its ANN, time-stacked vs step-by-step",
        "",
        f"Produced by `python experiments/benchmark_speed.py --workload {args.workload} "
        f"--T {args.T} --repeats {args.repeats} --seed {args.seed}"
        + (f" --dataset {args.dataset}" if args.workload == "cora-gcn" else "")
        + (f" --images {args.images}" if args.workload != "cora-gcn" else "")
        + f"` ({result['description']}, method qcfs, analog input, {result['threads']} "
        f"torch thread). CPU time (time.process_time), minimum over {args.repeats} "
        "interleaved repeats, ratios within one run; absolute times are machine-specific and "
        "not reported as results. Load average at the end (1, 5, 15 min): "
        + ", ".join(f"{value:.1f}" for value in result["load_average"])
        + " on 2 cores shared with other jobs.",
        "",
        "| what | time / ANN forward |",
        "|---|---|",
    ]
    ratios = result["time_over_ann_forward"]
    lines += [f"| {name} | {value:.2f} |" for name, value in ratios.items()]
    lines += [
        "",
        f"- SNN (T={args.T}) / ANN forward time: **{result['snn_over_ann']:.2f}x** without "
        f"statistics, {result['snn_with_statistics_over_ann']:.2f}x with statistics.",
        f"- Step-by-step / time-stacked: **{result['step_by_step_over_time_stacked']:.2f}x**"
        " (the time-stacked path is that much faster; both give the same output).",
    ]
    return "\n".join(lines) + "\n"


# -- the grid: hidden widths x T x methods, against the ANN and an honest per-step loop ---


class FirstLayerOnce(fx.Interpreter):
    """Runs a spiking body one step per call, computing once (at the first step) every op
    that depends on the constant inputs alone: the per-step loop that does not repeat the
    first layer, the honest baseline of the time-stacked path."""

    def __init__(self, body: fx.GraphModule, constant_inputs: int) -> None:
        super().__init__(body)
        placeholders = [n for n in body.graph.nodes if n.op == "placeholder"]
        constant = set(placeholders[:constant_inputs])
        for node in body.graph.nodes:
            module = body.get_submodule(node.target) if node.op == "call_module" else None
            stateful = isinstance(module, Neuron) or getattr(module, "stateful", False)
            inputs = node.all_input_nodes
            if node.op.startswith("call_") and inputs and not stateful:
                if all(n in constant for n in inputs):
                    constant.add(node)
        self.constant = constant
        self.memo = {}

    def run_node(self, node: fx.Node):
        if node in self.memo:
            return self.memo[node]
        result = super().run_node(node)
        if node in self.constant and node.op != "placeholder":
            self.memo[node] = result
        return result


def per_step_first_layer_once(snn, *inputs) -> Tensor:
    """The SNN's logits from a loop over steps (online methods) that computes the first layer
    once: same modules, neurons carrying their state from step to step."""
    body_inputs = snn.body_inputs(*inputs)
    steps = snn.steps
    stepper = FirstLayerOnce(snn.body, len(body_inputs))
    stateful = snn._streamable_modules()
    for module in stateful:
        module.keep_state = True
        module.reset()
    try:
        encoded = snn.coder(body_inputs[0], steps)
        currents = [stepper.run(encoded[t : t + 1], *body_inputs[1:]) for t in range(steps)]
    finally:
        for module in stateful:
            module.keep_state = False
            module.reset()
    return snn._decode(torch.cat(currents))


def runs_in_chunks(snn) -> bool:
    """Whether the method is online (its neurons can be stepped one step at a time)."""
    try:
        snn._streamable_modules()
    except ValueError:
        return False
    return True


def grid_models(args, data):
    """A QCFS (L = --qcfs-levels) and a ReLU GCN per hidden width, trained with seed --seed."""
    models = {}
    for hidden in args.hidden:
        for activation in ("qcfs", "relu"):
            torch.manual_seed(args.seed)
            options = {"qcfs_levels": args.qcfs_levels} if activation == "qcfs" else {}
            model = GCN(
                data.num_features,
                hidden,
                int(data.y.max()) + 1,
                activation=activation,
                **options,
            )
            models[hidden, activation] = train_node_classifier(model, data)
    return models


def time_interleaved(candidates: dict, inputs, repeats: int) -> dict:
    """Minimum CPU time (time.process_time) of every candidate over interleaved repeats."""
    best = {name: float("inf") for name in candidates}
    with torch.no_grad():
        for fn in candidates.values():  # warm-up
            fn(*inputs)
        for _ in range(repeats):
            for name, fn in candidates.items():
                started = time.process_time()
                fn(*inputs)
                best[name] = min(best[name], time.process_time() - started)
    return best


def measure_grid(args) -> dict:
    """SNN / ANN and SNN / per-step baseline for every hidden width, T and method."""
    data = planetoid(args.dataset, root=args.root, transform=transforms.NormalizeFeatures())
    inputs = (data.x, data.edge_index)
    models = grid_models(args, data)
    rows = []
    for hidden in args.hidden:
        candidates = {"ANN": models[hidden, "qcfs"]}
        configurations = []
        for T in args.grid_T:
            for method in args.methods:
                activation = "relu" if method == "rate" else "qcfs"
                snn = gsnn.convert(
                    models[hidden, activation], data, method=method, T=T, check=False
                )
                snn.record_stats = False
                key = f"{method} T={T}"
                candidates[key] = snn
                online = runs_in_chunks(snn)
                if online:
                    with torch.no_grad():
                        torch.testing.assert_close(
                            per_step_first_layer_once(snn, *inputs), snn(*inputs)
                        )
                    candidates[key + " per-step"] = functools.partial(
                        per_step_first_layer_once, snn
                    )
                configurations.append((T, method, snn.steps, online, key))
        best = time_interleaved(candidates, inputs, args.repeats)
        ann = best["ANN"]
        for T, method, steps, online, key in configurations:
            baseline = best.get(key + " per-step")
            rows.append(
                {
                    "hidden": hidden,
                    "T": T,
                    "method": method,
                    "simulated_steps": steps,
                    "snn_over_ann": best[key] / ann,
                    "per_step_baseline_over_ann": None if baseline is None else baseline / ann,
                    "per_step_baseline_over_snn": None
                    if baseline is None
                    else baseline / best[key],
                }
            )
    return {
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
        "rows": rows,
    }


def markdown_grid(args, result: dict) -> str:
    """The results page of a grid run."""
    command = (
        f"python experiments/benchmark_speed.py --grid --hidden {' '.join(map(str, args.hidden))} "
        f"--grid-T {' '.join(map(str, args.grid_T))} --methods {' '.join(args.methods)} "
        f"--qcfs-levels {args.qcfs_levels} --repeats {args.repeats} --seed {args.seed}"
    )
    load = ", ".join(f"{value:.1f}" for value in result["load_average"])
    lines = [
        "# Speed: SNN vs its ANN and vs a per-step loop, Cora GCN",
        "",
        f"Produced by `{command}`: {args.dataset} public split, row-normalised features, "
        f"2-layer GCN, QCFS (L = {args.qcfs_levels}) for qcfs / one-spike / css and ReLU "
        f"for rate, both trained with seed {args.seed}; analog input; no statistics; "
        f"{result['threads']} torch thread. CPU time (time.process_time), minimum over "
        f"{args.repeats} interleaved repeats, ratios within one run. Load average at the end "
        f"(1, 5, 15 min): {load} on 2 cores shared with other jobs.",
        "",
        "The per-step baseline runs the same modules one step at a time and computes the "
        "first layer (everything that depends on the constant input alone) once; it exists "
        "for online methods only (one-spike and css need the whole window).",
        "",
        "| hidden | T | method | simulated steps | SNN / ANN | per-step / ANN | per-step / SNN |",
        "|---|---|---|---|---|---|---|",
    ]

    def show(value):
        return "-" if value is None else f"{value:.2f}"

    for row in result["rows"]:
        lines.append(
            f"| {row['hidden']} | {row['T']} | {row['method']} | {row['simulated_steps']} | "
            f"{show(row['snn_over_ann'])} | {show(row['per_step_baseline_over_ann'])} | "
            f"{show(row['per_step_baseline_over_snn'])} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument(
        "--output",
        default=None,
        help="markdown file to write; pass experiments/results/benchmark_speed[_<workload>].md "
        "to refresh the committed results (default: a new benchmark_speed-<UTC time>.md in the "
        "current folder)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    output = args.output or f"benchmark_speed-{time.strftime('%Y%m%d-%H%M%S')}.md"
    text = markdown(args, measure(args))
    Path(output).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
