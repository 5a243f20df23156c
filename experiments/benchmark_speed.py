"""Speed of the converted SNN against its ANN, and of time-stacked vs step-by-step simulation.

Reproduce the committed results:

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py \
        --output experiments/results/benchmark_speed.md
    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py \
        --workload mnist-lenet5 --T 4 --output experiments/results/benchmark_speed_mnist-lenet5.md

``cora-gcn`` trains the reference 2-layer GCN (hidden 16, QCFS with L = T) on Cora
(public split, row-normalised features, seed 0); ``mnist-lenet5`` loads the committed
LeNet-5 QCFS weights (seed 0) and runs a batch of ``--images`` MNIST test images. Either
is converted with ``qcfs`` and timed, in one run and interleaved so machine load
affects all alike, as the median of ``--repeats`` calls of:

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
import statistics
import time
from pathlib import Path

import torch
import torch_geometric.transforms as transforms

import gsnn
from gsnn.ann import GCN, load_reference_model, train_node_classifier
from gsnn.data import mnist, planetoid

WEIGHTS = Path(__file__).parent / "weights"


def cora_gcn(args):
    """The trained 2-layer GCN on Cora, its inputs and a description."""
    torch.manual_seed(args.seed)
    data = planetoid(args.dataset, root=args.root, transform=transforms.NormalizeFeatures())
    model = GCN(data.num_features, 16, int(data.y.max()) + 1, activation="qcfs", qcfs_levels=args.T)
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared with ``gsnn bench speed``)."""
    parser.add_argument(
        "--workload", choices=sorted(WORKLOADS), default="cora-gcn", help="what is timed"
    )
    parser.add_argument("--dataset", default="Cora", help="Planetoid data set of cora-gcn")
    parser.add_argument("--images", type=int, default=1000, help="batch of mnist-lenet5")
    parser.add_argument("--T", type=int, default=8, help="time steps")
    parser.add_argument("--repeats", type=int, default=30, help="interleaved timed calls each")
    parser.add_argument("--seed", type=int, default=0, help="seed of the trained model")
    parser.add_argument("--root", default="datasets/", help="data root")


def measure(args) -> dict:
    """Time the calls of the docstring; return their medians relative to the ANN forward."""
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
    times = {name: [] for name in candidates}
    with torch.no_grad():
        torch.testing.assert_close(snn.forward_stepwise(*inputs), without_stats(*inputs))
        for fn in candidates.values():  # warm-up
            fn(*inputs)
        for _ in range(args.repeats):
            for name, fn in candidates.items():
                started = time.perf_counter()
                fn(*inputs)
                times[name].append(time.perf_counter() - started)
    median = {name: statistics.median(values) for name, values in times.items()}
    ann = median["ANN forward"]
    stacked = median["SNN time-stacked (no statistics)"]
    return {
        "description": description,
        "threads": torch.get_num_threads(),
        "time_over_ann_forward": {name: value / ann for name, value in median.items()},
        "snn_over_ann": stacked / ann,
        "snn_with_statistics_over_ann": median["SNN time-stacked (with statistics)"] / ann,
        "step_by_step_over_time_stacked": median["SNN step by step (same ops)"] / stacked,
    }


def markdown(args, result: dict) -> str:
    """The results page of one run."""
    lines = [
        "# Speed: SNN vs its ANN, time-stacked vs step-by-step",
        "",
        f"Produced by `python experiments/benchmark_speed.py --workload {args.workload} "
        f"--T {args.T} --repeats {args.repeats} --seed {args.seed}"
        + (f" --dataset {args.dataset}" if args.workload == "cora-gcn" else "")
        + (f" --images {args.images}" if args.workload != "cora-gcn" else "")
        + f"` ({result['description']}, method qcfs, "
        f"analog input, {result['threads']} threads). Ratios of medians over "
        f"{args.repeats} interleaved repeats in one run; absolute times are machine-specific "
        "and not reported as results.",
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
    output = args.output or f"benchmark_speed-{time.strftime('%Y%m%d-%H%M%S')}.md"
    text = markdown(args, measure(args))
    Path(output).write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
