"""Graph classification on TU data sets: ANN vs converted SNN under 10-fold cross-validation.

For every data set, readout and fold (stratified folds drawn with one seeded
generator, the protocol the GIN paper reports: mean ± std of the test-fold
accuracy over the 10 folds, here after a fixed number of epochs, without
selecting epochs on the test fold) it trains a plain-ReLU graph network and a
QCFS one (L levels) on the nine training folds, converts them with the
training folds as calibration data (a DataLoader of Batch objects) and
evaluates ANN and SNN on the same test fold:

- ``rate`` (ReLU ANN) at T = 16, 32, 64; ``css`` and ``one-spike`` (ReLU ANN)
  at T = 8, 16; ``qcfs`` and ``two-phase`` (QCFS ANN) at T = L.

Models:

- ``add``: 3 x GraphConv(add) + activation, ``global_add_pool``, Linear-act-Linear;
- ``mean``: the PyG Colab GCN: 3 x GCNConv (activation after the first two),
  ``global_mean_pool``, Linear;
- ``max``: 3 x GraphConv(add) + activation, ``global_max_pool``, Linear;
- ``gin``: examples/mutag_gin.py: 3 x GINConv (MLP Linear-act-Linear) + activation,
  ``global_add_pool``, Linear-act-dropout-Linear (added once GINConv landed on main).

Every row of the journal (``--journal``) is one (data set, model, fold, method,
T): ANN and SNN test accuracy, the agreement of their predictions per graph,
spikes, synaptic operations and energy per graph (from ``SpikeStats.per_graph``)
and the ANN's energy per graph. ``--summary`` writes the markdown table and
``--plot`` the accuracy-vs-energy figure.

Commands used for the committed results (1 torch thread, three run side by side; the
epochs and the PROTEINS folds were cut to what finished before the deadline)::

    export GSNN_DATA_MIRROR=../shared/datasets PYTHONPATH=$PWD R=experiments/results
    nice python experiments/graph_classification.py --datasets MUTAG --models gin add \
        --epochs 50 --journal $R/graph_classification_MUTAG_gin_add.jsonl
    nice python experiments/graph_classification.py --datasets MUTAG --models mean max \
        --epochs 50 --journal $R/graph_classification_MUTAG_mean_max.jsonl
    nice python experiments/graph_classification.py --datasets PROTEINS --models add \
        --epochs 20 --only-folds 0 1 2 3 4
    nice python experiments/graph_classification.py --datasets MUTAG --models gin add \
        --epochs 50 --only-folds 0 1 2 3 4 --relu-runs rate:128 \
        --qcfs-runs qcfs:8 qcfs:16 qcfs:32 --journal $R/graph_classification_MUTAG_longer_T.jsonl
    python experiments/graph_classification.py --summary-only  # table and plot of all journals
"""

import argparse
import json
import math
import time
from pathlib import Path

import torch
from torch import nn
from torch_geometric.loader import DataLoader
from torch_geometric.nn import (
    GCNConv,
    GINConv,
    GraphConv,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
)

import gsnn
from gsnn.ann import QCFS, graph_accuracy, train_graph_classifier
from gsnn.data import tu_dataset

RESULTS = Path(__file__).parent / "results"
RELU_RUNS = [("rate", T) for T in (16, 32, 64)] + [
    (method, T) for method in ("css", "one-spike") for T in (8, 16)
]
QCFS_METHODS = ("qcfs", "two-phase")


def method_and_steps(text):
    """``"rate:64"`` as ``("rate", 64)``."""
    method, _, steps = text.partition(":")
    return method, int(steps)


def activation(levels):
    return nn.ReLU() if levels is None else QCFS(levels=levels)


class SumReadoutNet(nn.Module):
    """GraphConv(add) layers, ``global_add_pool`` and a two-layer head (the GIN layout)."""

    def __init__(self, features, hidden, classes, levels=None, layers=3):
        super().__init__()
        self.convs = nn.ModuleList(
            GraphConv(features if i == 0 else hidden, hidden, aggr="add") for i in range(layers)
        )
        self.acts = nn.ModuleList(activation(levels) for _ in range(layers + 1))
        self.lin1, self.lin2 = nn.Linear(hidden, hidden), nn.Linear(hidden, classes)

    def forward(self, x, edge_index, batch):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x, edge_index))
        x = global_add_pool(x, batch)
        return self.lin2(self.acts[-1](self.lin1(x)))


class MeanReadoutGCN(nn.Module):
    """The PyG Colab graph-classification GCN: the last conv's output is pooled as it is."""

    def __init__(self, features, hidden, classes, levels=None):
        super().__init__()
        self.conv1, self.conv2 = GCNConv(features, hidden), GCNConv(hidden, hidden)
        self.conv3 = GCNConv(hidden, hidden)
        self.act1, self.act2 = activation(levels), activation(levels)
        self.lin = nn.Linear(hidden, classes)

    def forward(self, x, edge_index, batch):
        x = self.act1(self.conv1(x, edge_index))
        x = self.act2(self.conv2(x, edge_index))
        x = global_mean_pool(self.conv3(x, edge_index), batch)
        return self.lin(nn.functional.dropout(x, p=0.5, training=self.training))


class MaxReadoutNet(nn.Module):
    """GraphConv(add) layers, ``global_max_pool`` of the last activation, Linear."""

    def __init__(self, features, hidden, classes, levels=None, layers=3):
        super().__init__()
        self.convs = nn.ModuleList(
            GraphConv(features if i == 0 else hidden, hidden, aggr="add") for i in range(layers)
        )
        self.acts = nn.ModuleList(activation(levels) for _ in range(layers))
        self.lin = nn.Linear(hidden, classes)

    def forward(self, x, edge_index, batch):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x, edge_index))
        return self.lin(global_max_pool(x, batch))


class GINNet(nn.Module):
    """PyG's examples/mutag_gin.py: GINConv layers with two-layer MLPs, ``global_add_pool``,
    a two-layer head (the MLPs written out, so QCFS can take the ReLUs' places)."""

    def __init__(self, features, hidden, classes, levels=None, layers=3):
        super().__init__()
        self.convs = nn.ModuleList(
            GINConv(
                nn.Sequential(
                    nn.Linear(features if i == 0 else hidden, hidden),
                    activation(levels),
                    nn.Linear(hidden, hidden),
                ),
                train_eps=False,
            )
            for i in range(layers)
        )
        self.acts = nn.ModuleList(activation(levels) for _ in range(layers + 1))
        self.lin1, self.lin2 = nn.Linear(hidden, hidden), nn.Linear(hidden, classes)

    def forward(self, x, edge_index, batch):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x, edge_index))
        x = global_add_pool(x, batch)
        x = nn.functional.dropout(self.acts[-1](self.lin1(x)), p=0.5, training=self.training)
        return self.lin2(x)


MODELS = {"add": SumReadoutNet, "mean": MeanReadoutGCN, "max": MaxReadoutNet, "gin": GINNet}


def without_edge_attr(data):
    """These models read no edge features; MUTAG's edge labels (data.edge_attr) are removed
    so that the converter, which refuses to drop a graph input silently, is not asked to."""
    data = data.clone()
    del data.edge_attr
    return data


def stratified_folds(labels, folds, seed):
    """``folds`` disjoint index sets with the class proportions of ``labels``."""
    generator = torch.Generator().manual_seed(seed)
    parts = [[] for _ in range(folds)]
    for label in labels.unique():
        members = (labels == label).nonzero().view(-1)
        members = members[torch.randperm(members.numel(), generator=generator)]
        for position, index in enumerate(members.tolist()):
            parts[position % folds].append(index)
    return [torch.tensor(sorted(part)) for part in parts]


@torch.no_grad()
def evaluate(snn, test_graphs):
    """Accuracy, spikes, synaptic operations and energy per graph on one test Batch."""
    logits = snn(test_graphs.x, test_graphs.edge_index, test_graphs.batch)
    stats = snn.last_stats
    return {
        "snn_accuracy": float((logits.argmax(-1) == test_graphs.y).float().mean()),
        "snn_predictions": logits.argmax(-1),
        "spikes_per_graph": float(stats.per_graph("spikes").mean()),
        "synaptic_ops_per_graph": float(stats.per_graph("synaptic_ops").mean()),
        "energy_per_graph_pj": float(stats.energy_per_graph_pj.mean()),
        "ann_energy_per_graph_pj": stats.ann_energy_pj / test_graphs.num_graphs,
    }


def run_fold(dataset, model_name, train_index, test_index, args, fold, journal):
    train = DataLoader(dataset[train_index], batch_size=32, shuffle=True)
    calibration = DataLoader(dataset[train_index], batch_size=256)
    test_graphs = next(iter(DataLoader(dataset[test_index], batch_size=len(test_index))))
    test_loader = [test_graphs]
    rows = []
    for levels, runs in ((None, args.relu_runs), (args.levels, args.qcfs_runs)):
        if not runs:
            continue
        torch.manual_seed(args.seed * 1000 + fold)
        model = MODELS[model_name](
            dataset.num_node_features, args.hidden, dataset.num_classes, levels
        )
        train_graph_classifier(model, train, epochs=args.epochs, lr=args.lr)
        ann_accuracy = graph_accuracy(model, test_loader)
        with torch.no_grad():
            ann_predictions = model(
                test_graphs.x, test_graphs.edge_index, test_graphs.batch
            ).argmax(-1)
        for method, T in runs:
            row = {
                "dataset": dataset.name,
                "model": model_name,
                "ann": "ReLU" if levels is None else f"QCFS L={levels}",
                "fold": fold,
                "seed": args.seed,
                "epochs": args.epochs,
                "method": method,
                "T": T,
                "ann_accuracy": ann_accuracy,
            }
            try:
                snn = gsnn.convert(model, calibration, method=method, T=T, check=False)
                measured = evaluate(snn, test_graphs)
            except (gsnn.ConversionError, ValueError) as error:
                row["error"] = str(error)
            else:
                predictions = measured.pop("snn_predictions")
                row.update(measured)
                row["agreement"] = float((predictions == ann_predictions).float().mean())
            rows.append(row)
            journal.write(json.dumps(row) + "\n")
            journal.flush()
    return rows


def mean_std(values):
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)
    return mean, math.sqrt(variance)


def summarise(rows):
    groups = {}
    for row in rows:
        key = (row["dataset"], row["epochs"], row["model"], row["ann"], row["method"], row["T"])
        groups.setdefault(key, []).append(row)
    lines = [
        "| dataset | epochs | model | ANN | method | T | folds | ANN acc. % | SNN acc. % "
        "| loss pts | agreement % | spikes/graph | SOPs/graph | SNN nJ/graph | ANN nJ/graph |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, epochs, model, ann, method, T), group in groups.items():
        done = [r for r in group if "error" not in r]
        if not done:
            lines.append(
                f"| {dataset} | {epochs} | {model} | {ann} | {method} | {T} | 0 | refused: "
                f"{group[0]['error'][:120]} |||||||||"
            )
            continue
        ann_acc = mean_std([100 * r["ann_accuracy"] for r in done])
        snn_acc = mean_std([100 * r["snn_accuracy"] for r in done])
        loss = mean_std([100 * (r["ann_accuracy"] - r["snn_accuracy"]) for r in done])
        agree = mean_std([100 * r["agreement"] for r in done])
        spikes = mean_std([r["spikes_per_graph"] for r in done])[0]
        sops = mean_std([r["synaptic_ops_per_graph"] for r in done])[0]
        energy = mean_std([r["energy_per_graph_pj"] / 1e3 for r in done])[0]
        ann_energy = mean_std([r["ann_energy_per_graph_pj"] / 1e3 for r in done])[0]
        lines.append(
            f"| {dataset} | {epochs} | {model} | {ann} | {method} | {T} | {len(done)} "
            f"| {ann_acc[0]:.2f} ± {ann_acc[1]:.2f} | {snn_acc[0]:.2f} ± {snn_acc[1]:.2f} "
            f"| {loss[0]:+.2f} ± {loss[1]:.2f} | {agree[0]:.2f} ± {agree[1]:.2f} "
            f"| {spikes:.0f} | {sops:.3g} | {energy:.3g} | {ann_energy:.3g} |"
        )
    return lines


def targets(rows):
    """The issue's bounds: qcfs at T = L agrees with its QCFS ANN on >= 99 % of graphs; rate
    at T = 64 loses <= 1 point against its ReLU ANN (means over folds)."""
    lines = [
        "| dataset | model | target | measured (mean over folds) | bound | met |",
        "|---|---|---|---|---|---|",
    ]
    pairs = sorted({(r["dataset"], r["model"]) for r in rows})
    for dataset, model in pairs:
        for method, T, bound in (("qcfs", None, 99.0), ("rate", 64, 1.0)):
            done = [
                r
                for r in rows
                if (r["dataset"], r["model"], r["method"]) == (dataset, model, method)
                and r["T"] == (T or int(r["ann"].split("=")[-1]))
                and "error" not in r
            ]
            if not done:
                continue
            if method == "qcfs":
                value = mean_std([100 * r["agreement"] for r in done])[0]
                text, met = f"qcfs at T = L = {done[0]['T']}: agreement", value >= bound
                bound_text = f">= {bound:.0f} % of graphs"
                measured = f"{value:.2f} % ({len(done)} folds)"
            else:
                value = mean_std([100 * (r["ann_accuracy"] - r["snn_accuracy"]) for r in done])[0]
                text, met = "rate at T = 64: loss", value <= bound
                bound_text = f"<= {bound:.0f} point"
                measured = f"{value:+.2f} pts ({len(done)} folds)"
            verdict = "yes" if met else "no"
            lines.append(
                f"| {dataset} | {model} | {text} | {measured} | {bound_text} | {verdict} |"
            )
    return lines


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in rows})
    figure, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), squeeze=False)
    for axis, dataset in zip(axes[0], datasets):
        groups = {}
        for r in rows:
            if r["dataset"] == dataset and "error" not in r:
                groups.setdefault((r["model"], r["method"], r["T"]), []).append(r)
        for (model, method, T), group in sorted(groups.items()):
            energy = sum(r["energy_per_graph_pj"] for r in group) / len(group) / 1e3
            loss = sum(100 * (r["ann_accuracy"] - r["snn_accuracy"]) for r in group) / len(group)
            marker = {"add": "o", "mean": "s", "max": "^", "gin": "D"}[model]
            axis.scatter(energy, loss, marker=marker)
            axis.annotate(f"{model} {method} T={T}", (energy, loss), fontsize=6)
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.set_xscale("log")
        axis.set_xlabel("SNN energy per graph (nJ, estimate)")
        axis.set_ylabel("ANN - SNN test accuracy (points, mean over folds)")
        axis.set_title(f"{dataset}: o add, s mean, ^ max readout, D GIN")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["MUTAG", "PROTEINS"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--only-folds", type=int, nargs="*", help="run only these folds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--levels", type=int, default=4, help="QCFS levels L (= T of qcfs)")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--relu-runs",
        nargs="*",
        type=method_and_steps,
        default=RELU_RUNS,
        help="METHOD:T conversions of the ReLU ANN (default: rate 16/32/64, css and "
        "one-spike 8/16)",
    )
    parser.add_argument(
        "--qcfs-runs",
        nargs="*",
        type=method_and_steps,
        help="METHOD:T conversions of the QCFS ANN (default: qcfs and two-phase at T = L)",
    )
    parser.add_argument("--root", default="datasets/")
    parser.add_argument(
        "--journal",
        help="rows are appended here (default: results/graph_classification_<datasets>.jsonl); "
        "the summary reads every results/graph_classification_*.jsonl",
    )
    parser.add_argument("--summary-only", action="store_true", help="rewrite the summary")
    args = parser.parse_args()
    if args.qcfs_runs is None:
        args.qcfs_runs = [(method, args.levels) for method in QCFS_METHODS]
    torch.set_num_threads(1)
    journal_path = Path(
        args.journal or RESULTS / f"graph_classification_{'_'.join(args.datasets)}.jsonl"
    )
    if not args.summary_only:
        with journal_path.open("a") as journal:
            for name in args.datasets:
                dataset = tu_dataset(name, args.root)
                if "edge_attr" in dataset[0]:
                    dataset.transform = without_edge_attr
                labels = torch.tensor([int(g.y) for g in dataset])
                folds = stratified_folds(labels, args.folds, args.seed)
                for model_name in args.models:
                    for fold, test_index in enumerate(folds):
                        if args.only_folds and fold not in args.only_folds:
                            continue
                        train_index = torch.cat([f for i, f in enumerate(folds) if i != fold])
                        start = time.process_time()
                        run_fold(dataset, model_name, train_index, test_index, args, fold, journal)
                        print(
                            f"{name} {model_name} fold {fold}: "
                            f"{time.process_time() - start:.0f} s CPU",
                            flush=True,
                        )
    rows = [
        json.loads(line)
        for path in sorted(RESULTS.glob("graph_classification_*.jsonl"))
        for line in path.read_text().splitlines()
        if line
    ]
    summary = [
        "# Graph classification: ANN vs converted SNN (TU data sets)",
        "",
        "Produced by `experiments/graph_classification.py` (see its docstring for the exact "
        "command, the models and the protocol): stratified 10-fold cross-validation, folds "
        f"drawn with seed {args.seed}, the epochs of Adam given per row (lr {args.lr}, "
        "batch 32), "
        f"hidden width {args.hidden}, analog input coding, the training folds as calibration "
        "data. Mean ± std over folds; *loss* = ANN - SNN test accuracy in points on the same "
        "fold; *agreement* = graphs where SNN and ANN predict the same class; energy is the "
        "estimate of gsnn.metrics (4.6 pJ/MAC, 0.9 pJ/AC) per test graph.",
        "",
        "## Targets",
        "",
        *targets(rows),
        "",
        "## All runs",
        "",
        *summarise(rows),
    ]
    (RESULTS / "graph_classification.md").write_text("\n".join(summary) + "\n")
    plot(rows, RESULTS / "graph_classification_loss_vs_energy.png")


if __name__ == "__main__":
    main()
