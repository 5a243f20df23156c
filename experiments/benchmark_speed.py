"""Speed of the converted SNN against its ANN, and of time-stacked vs step-by-step simulation.

Reproduce the committed result:

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_speed.py

Trains the reference 2-layer GCN (hidden 16, QCFS with L = T) on Cora (public
split, row-normalised features, seed 0), converts it with ``qcfs`` and times, in
one run and interleaved so machine load affects all alike, the median of
``--repeats`` calls of:

- the ANN forward pass;
- the SNN forward pass (layer-major: every layer processes all T steps at once,
  graph aggregation as one sparse matmul), with and without statistics;
- the same SNN simulated one step at a time through the same ops
  (``SpikingNetwork.forward_stepwise``).

Only ratios are reported; absolute times depend on the machine. Writes
``experiments/results/benchmark_speed.md``.
"""

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch_geometric.transforms as transforms

import gsnn
from gsnn.ann import GCN, train_node_classifier
from gsnn.data import planetoid

RESULTS = Path(__file__).parent / "results"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Cora")
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="datasets/")
    parser.add_argument("--output", default=str(RESULTS / "benchmark_speed.md"))
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    data = planetoid(args.dataset, root=args.root, transform=transforms.NormalizeFeatures())
    model = GCN(data.num_features, 16, int(data.y.max()) + 1, activation="qcfs", qcfs_levels=args.T)
    train_node_classifier(model, data)
    snn = gsnn.convert(model, data, method="qcfs", T=args.T)
    inputs = (data.x, data.edge_index)

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
        f"Produced by `python experiments/benchmark_speed.py --dataset {args.dataset} "
        f"--T {args.T} --repeats {args.repeats} --seed {args.seed}` "
        f"({args.dataset} public split, 2-layer GCN hidden 16, QCFS L=T, method qcfs, "
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
    Path(args.output).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
