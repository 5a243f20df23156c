"""Cora models written with the linear PyG convolutions, and how each converts.

``MODELS`` maps a name to a factory ``(in_channels, hidden, out_channels) -> model``,
each a small network written the way PyG's examples write them (``nn.ReLU``
module, ``F.dropout``, MixHop's batch norm and linear head as in
``examples/mixhop.py``). ``FLOW_MODELS`` does the same for models whose graph ops
are more than a weighted layer after a neuron (GIN's MLPs, GCNII's initial residual,
max aggregation with jumping knowledge). :func:`measure` trains one of them on Cora
and converts it with ``rate`` at T = 64 and, through ``gsnn.ann.qcfs_from_relu``
(L = 8, no fine-tuning), with ``qcfs`` at T = 8 and 32. ``experiments/pyg_coverage.py``
measures both dicts; run alone, this script writes the rows of the linear convolutions:

    GSNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 \
        python experiments/pyg_coverage_models.py --seeds 0 1 2 3 4 --epochs 100

to ``experiments/results/pyg_coverage_linear_convs.jsonl`` (one row per model and
seed, appended as each finishes; a rerun resumes) and ``.md`` (mean ± std over the
seeds; accuracies on Cora's public test split, agreement on all 2708 nodes; input
coding analog). ``--models`` selects a subset, ``--summarise-only`` rebuilds the table.

The committed journal was filled by that command split over parallel processes with
``--models`` and ``--seeds`` (rows are per model and seed, so the split does not change
them), stopped at the session's deadline, then ``--summarise-only --seeds 0 1 2 3 4``;
the *seeds* column of the table counts the rows each model has.
"""

import argparse
import json
import statistics
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import (
    MLP,
    ChebConv,
    ClusterGCNConv,
    GCN2Conv,
    GINConv,
    LEConv,
    MixHopConv,
    SSGConv,
    TAGConv,
)
from torch_geometric.nn.models import GIN, GraphSAGE

import gsnn
from gsnn.ann import node_accuracy, qcfs_from_relu, train_node_classifier
from gsnn.data import planetoid

RESULTS = Path(__file__).parent / "results"
RATE_T = 64
QCFS_T = (8, 32)
QCFS_LEVELS = 8


class TwoConvNet(nn.Module):
    """``conv1 -> ReLU -> dropout -> conv2``, as PyG's examples/gcn.py writes a GCN."""

    def __init__(self, conv1: nn.Module, conv2: nn.Module, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2
        self.act = nn.ReLU()
        self.dropout = dropout

    def forward(self, x, edge_index):
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = self.act(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)


class MixHopNet(nn.Module):
    """``MixHopConv -> BatchNorm1d -> ReLU -> dropout -> Linear``, examples/mixhop.py cut to
    one conv."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.conv = MixHopConv(in_channels, hidden, powers=[0, 1, 2])
        self.norm = nn.BatchNorm1d(3 * hidden)
        self.act = nn.ReLU()
        self.lin = nn.Linear(3 * hidden, out_channels)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=0.5, training=self.training)
        x = self.act(self.norm(self.conv(x, edge_index)))
        x = F.dropout(x, p=0.5, training=self.training)
        return self.lin(x)


def two(conv: Callable[[int, int], nn.Module]) -> Callable[[int, int, int], nn.Module]:
    """A factory of :class:`TwoConvNet` with ``conv(in, out)`` in both layers."""
    return lambda i, h, o: TwoConvNet(conv(i, h), conv(h, o))


MODELS: Dict[str, Callable[[int, int, int], nn.Module]] = {
    "ClusterGCNConv": two(lambda i, o: ClusterGCNConv(i, o)),
    "TAGConv (K=3)": two(lambda i, o: TAGConv(i, o, K=3)),
    "ChebConv (K=2, sym)": two(lambda i, o: ChebConv(i, o, K=2)),
    "SSGConv (alpha=0.1, K=2)": two(lambda i, o: SSGConv(i, o, alpha=0.1, K=2)),
    "MixHopConv + BatchNorm1d + Linear": MixHopNet,
    "LEConv": two(lambda i, o: LEConv(i, o)),
}


class NodeGIN(nn.Module):
    """examples/mutag_gin.py without the graph pooling: ``GINConv(MLP([in, h, h]))``, then
    ``.relu()``, twice, and an ``MLP`` head without norm."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            [GINConv(MLP([in_channels, hidden, hidden])), GINConv(MLP([hidden, hidden, hidden]))]
        )
        self.mlp = MLP([hidden, hidden, out_channels], norm=None, dropout=0.5)

    def forward(self, x, edge_index):
        for conv in self.convs:
            x = conv(x, edge_index).relu()
        return self.mlp(x)


class GCNII(nn.Module):
    """examples/gcn2_cora.py with four layers: ``x = x_0 = lin(x).relu()``, then
    ``GCN2Conv(x, x_0).relu()`` per layer and a linear classifier."""

    def __init__(
        self, in_channels: int, hidden: int, out_channels: int, shared_weights: bool = True
    ) -> None:
        super().__init__()
        self.lins = nn.ModuleList([nn.Linear(in_channels, hidden), nn.Linear(hidden, out_channels)])
        self.convs = nn.ModuleList(
            GCN2Conv(hidden, alpha=0.1, theta=0.5, layer=layer + 1, shared_weights=shared_weights)
            for layer in range(4)
        )

    def forward(self, x, edge_index):
        x = F.dropout(x, p=0.5, training=self.training)
        x = x_0 = self.lins[0](x).relu()
        for conv in self.convs:
            x = F.dropout(x, p=0.5, training=self.training)
            x = conv(x, x_0, edge_index).relu()
        x = F.dropout(x, p=0.5, training=self.training)
        return self.lins[1](x).log_softmax(dim=-1)


FLOW_MODELS: Dict[str, Callable[[int, int, int], nn.Module]] = {
    "GINConv(MLP) (examples/mutag_gin.py)": NodeGIN,
    "models.GIN (2 layers, jk=cat)": lambda i, h, o: GIN(i, h, 2, o, jk="cat"),
    "models.GraphSAGE (aggr=max, jk=max)": lambda i, h, o: GraphSAGE(
        i, h, 2, o, aggr="max", jk="max"
    ),
    "GCN2Conv (examples/gcn2_cora.py, 4 layers)": GCNII,
    "GCN2Conv (shared_weights=False)": lambda i, h, o: GCNII(i, h, o, shared_weights=False),
}


@torch.no_grad()
def _predictions(model: nn.Module, data: Data) -> torch.Tensor:
    return model(data.x, data.edge_index).argmax(dim=1)


def _test_accuracy(predictions: torch.Tensor, data: Data) -> float:
    mask = data.test_mask
    return (predictions[mask] == data.y[mask]).float().mean().item()


def measure(
    name: str,
    data: Data,
    seed: int,
    hidden: int = 16,
    epochs: int = 200,
    factory: Optional[Callable[[int, int, int], nn.Module]] = None,
) -> Dict[str, float]:
    """Train ``factory`` (default ``MODELS[name]``) on ``data`` (seed ``seed``, Adam for
    ``epochs`` epochs, the best validation epoch kept) and convert it.

    Returns:
        ``ann``: test accuracy of the ReLU ANN; ``rate_T64_agreement``: fraction
        of all nodes where the rate SNN at T = 64 predicts the ANN's class;
        ``rate_T64``: its test accuracy; ``qcfs_ann``: test accuracy of the QCFS
        ANN from ``qcfs_from_relu`` (L = 8); ``qcfs_T8``, ``qcfs_T32``: test
        accuracy of its qcfs SNN at T = 8 and 32.
    """
    torch.manual_seed(seed)
    classes = int(data.y.max()) + 1
    model = (factory or MODELS[name])(data.num_features, hidden, classes)
    model = train_node_classifier(model, data, epochs=epochs)
    ann_predictions = _predictions(model, data)
    row = {"model": name, "seed": seed, "epochs": epochs}
    row["ann"] = node_accuracy(model, data, data.test_mask)
    rate = gsnn.convert(model, data, method="rate", T=RATE_T, check=False)
    rate_predictions = _predictions(rate, data)
    row[f"rate_T{RATE_T}_agreement"] = (rate_predictions == ann_predictions).float().mean().item()
    row[f"rate_T{RATE_T}"] = _test_accuracy(rate_predictions, data)
    quantised = qcfs_from_relu(model, data, levels=QCFS_LEVELS)
    row["qcfs_ann"] = node_accuracy(quantised, data, data.test_mask)
    for steps in QCFS_T:
        snn = gsnn.convert(quantised, data, method="qcfs", T=steps, check=False)
        row[f"qcfs_T{steps}"] = _test_accuracy(_predictions(snn, data), data)
    return row


def summarise(rows: Sequence[Dict], names: Optional[Sequence[str]] = None) -> str:
    """A Markdown table: mean ± std over seeds, in percent, one line per model (``names``,
    default :data:`MODELS`, in that order)."""
    columns = ["ann", f"rate_T{RATE_T}_agreement", f"rate_T{RATE_T}", "qcfs_ann"]
    columns += [f"qcfs_T{steps}" for steps in QCFS_T]
    header = (
        "| model | seeds | ReLU ANN | rate T=64 agrees with ANN (all nodes) | rate T=64 | "
        "QCFS ANN (qcfs_from_relu, L=8) | qcfs T=8 | qcfs T=32 |"
    )
    lines = [header, "|" + " --- |" * (len(columns) + 2)]
    for name in names or MODELS:
        mine = [row for row in rows if row["model"] == name]
        if not mine:
            continue
        cells = []
        for column in columns:
            values = [100 * row[column] for row in mine]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} ± {spread:.1f}")
        lines.append(f"| {name} | {len(mine)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--epochs", type=int, default=200, help="training epochs per model")
    parser.add_argument(
        "--summarise-only", action="store_true", help="rebuild the table from the journal"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    RESULTS.mkdir(exist_ok=True)
    journal = RESULTS / "pyg_coverage_linear_convs.jsonl"
    rows = []
    if journal.exists():
        rows = [json.loads(line) for line in journal.read_text().splitlines()]
    if not args.summarise_only:
        data = planetoid("Cora")
        done = {(row["model"], row["seed"]) for row in rows}
        for name in args.models:
            for seed in args.seeds:
                if (name, seed) in done:
                    continue
                rows.append(measure(name, data, seed, epochs=args.epochs))
                with open(journal, "a") as out:  # one row per run: a rerun resumes
                    out.write(json.dumps(rows[-1]) + "\n")
                print(json.dumps(rows[-1]), flush=True)
    rows = [row for row in rows if row["seed"] in args.seeds]
    epochs = sorted({row["epochs"] for row in rows}) or [args.epochs]  # as trained
    table = summarise(rows)
    title = "# Linear PyG convolutions on Cora: ANN vs converted SNN\n\n"
    command = (
        "Command: `GSNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 python "
        f"experiments/pyg_coverage_models.py --seeds {' '.join(map(str, args.seeds))} "
        f"--epochs {' / '.join(map(str, epochs))}`; "
        "Cora public split, test accuracy in %, mean ± std over the seeds, input coding "
        "analog, rate with its default percentile, qcfs_from_relu with L=8 and no "
        "fine-tuning.\n\n"
    )
    (RESULTS / "pyg_coverage_linear_convs.md").write_text(title + command + table)
    print(table)


if __name__ == "__main__":
    main()
