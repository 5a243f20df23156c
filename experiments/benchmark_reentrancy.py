"""What the call lock of a SpikingNetwork costs a single thread.

A converted network serialises its calls with a lock (its run state lives on its modules,
see ``SpikingNetwork``). This times one thread calling the trained 2-layer GCN on Cora
(public split, row-normalised features, seed 0, QCFS with L = T, converted with ``qcfs``,
statistics recorded) with the lock and with the lock replaced by a no-op context, in one
run and interleaved, in one pass and in chunks of 4 steps. CPU time per call
(``time.process_time``), 1 torch thread, minimum over ``--repeats`` interleaved repeats.

Reproduce the committed results:

    GSNN_DATA_MIRROR=../shared/datasets python experiments/benchmark_reentrancy.py

Writes ``experiments/results/benchmark_reentrancy.md``.
"""

import argparse
import contextlib
import time
from pathlib import Path

import torch
import torch_geometric.transforms as transforms

import gsnn
from gsnn.ann import GCN, train_node_classifier
from gsnn.data import planetoid

RESULTS = Path(__file__).parent / "results"


def cpu_time(call) -> float:
    start = time.process_time()
    call()
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="datasets/")
    parser.add_argument("--output", default=str(RESULTS / "benchmark_reentrancy.md"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    data = planetoid("Cora", root=args.root, transform=transforms.NormalizeFeatures())
    model = GCN(data.num_features, 16, int(data.y.max()) + 1, activation="qcfs", qcfs_levels=args.T)
    train_node_classifier(model, data)
    snn = gsnn.convert(model, data, method="qcfs", T=args.T)
    lock = snn._lock
    inputs = (data.x, data.edge_index)

    def call(guard, chunk):
        snn._lock, snn.steps_per_chunk = guard, chunk
        with torch.no_grad():
            snn(*inputs)

    variants = {
        (name, chunk): (guard, chunk)
        for name, guard in (("lock", lock), ("no lock", contextlib.nullcontext()))
        for chunk in (None, 4)
    }
    for guard, chunk in variants.values():  # warm-up: build the cached adjacency etc.
        call(guard, chunk)
    times = {key: [] for key in variants}
    for _ in range(args.repeats):
        for key, (guard, chunk) in variants.items():
            times[key].append(cpu_time(lambda: call(guard, chunk)))
    snn._lock = lock

    rows = [
        "| simulation | with lock (ms) | without lock (ms) | ratio |",
        "|---|---|---|---|",
    ]
    for chunk in (None, 4):
        locked, free = min(times[("lock", chunk)]), min(times[("no lock", chunk)])
        label = "one pass" if chunk is None else f"chunks of {chunk} steps"
        rows.append(f"| {label} | {1e3 * locked:.2f} | {1e3 * free:.2f} | {locked / free:.3f} |")
    text = "\n".join(
        [
            "# Cost of the SpikingNetwork call lock (one thread)",
            "",
            f"Cora public split, 2-layer GCN hidden 16, QCFS L=T, method qcfs, T={args.T}, "
            f"seed {args.seed}, statistics recorded. CPU time per call (time.process_time), "
            f"1 torch thread, minimum over {args.repeats} interleaved repeats.",
            "",
            "Command: `GSNN_DATA_MIRROR=../shared/datasets python "
            "experiments/benchmark_reentrancy.py`",
            "",
            *rows,
            "",
        ]
    )
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
