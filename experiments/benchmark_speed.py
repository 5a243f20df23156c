"""Speed of the converted SNN against its ANN, and of time-stacked vs step-by-step simulation.

Reproduce the committed results:

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py
    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py \
        --workload mnist-lenet5 --T 4

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

Only ratios are reported; absolute times depend on the machine. Writes
``experiments/results/benchmark_speed.md`` (``benchmark_speed_<workload>.md`` for other
workloads).
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

RESULTS = Path(__file__).parent / "results"
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="cora-gcn")
    parser.add_argument("--dataset", default="Cora", help="Planetoid data set of cora-gcn")
    parser.add_argument("--images", type=int, default=1000, help="batch of mnist-lenet5")
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="datasets/")
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    suffix = "" if args.workload == "cora-gcn" else f"_{args.workload}"
    output = args.output or str(RESULTS / f"benchmark_speed{suffix}.md")

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
    lines = [
        "# Speed: SNN vs its ANN, time-stacked vs step-by-step",
        "",
        f"Produced by `python experiments/benchmark_speed.py --workload {args.workload} "
        f"--T {args.T} --repeats {args.repeats} --seed {args.seed}"
        + (f" --dataset {args.dataset}" if args.workload == "cora-gcn" else "")
        + (f" --images {args.images}" if args.workload != "cora-gcn" else "")
        + f"` ({description}, method qcfs, "
        f"analog input, {torch.get_num_threads()} threads). Ratios of medians over "
        f"{args.repeats} interleaved repeats in one run; absolute times are machine-specific "
        "and not reported as results.",
        "",
        "| what | time / ANN forward |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value / ann:.2f} |" for name, value in median.items()]
    lines += [
        "",
        f"- SNN (T={args.T}) / ANN forward time: **{stacked / ann:.2f}x** without statistics, "
        f"{median['SNN time-stacked (with statistics)'] / ann:.2f}x with statistics.",
        f"- Step-by-step / time-stacked: **{median['SNN step by step (same ops)'] / stacked:.2f}x**"
        " (the time-stacked path is that much faster; both give the same output).",
    ]
    Path(output).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
