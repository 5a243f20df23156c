"""Which PyG models convert: the compatibility table of gsnn.

Every model family of the PyG-coverage work (issue 14), written the way PyG's
examples and ``torch_geometric.nn.models`` write them, is trained on Cora and
converted with ``rate`` at T = 64 and, through ``gsnn.ann.qcfs_from_relu`` (L = 8, no
fine-tuning), with ``qcfs`` at T = 8 and 32; a model gsnn refuses gets its refusal
message instead. The measurement of one model and seed is
``pyg_coverage_models.measure``; the linear convolutions' factories are
``pyg_coverage_models.MODELS``, the others are here.

    GSNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 \\
        python experiments/pyg_coverage.py --seeds 0 1 2 3 4 --epochs 100

writes ``experiments/results/pyg_coverage.jsonl`` (one row per model and seed; a rerun
resumes) and ``pyg_coverage.md``; the rows of ``pyg_coverage_linear_convs.jsonl``
(``pyg_coverage_models.py``'s own run, the same measurement) count too. Refusals are
checked afresh on every run (on an untrained copy), so a model that gsnn learns to convert
moves into the measured rows.
Accuracies are on Cora's public test split, agreement on all 2708 nodes; input coding
analog; mean ± std over the seeds.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import (
    APPNP,
    GATConv,
    GATv2Conv,
    GCNConv,
    GraphConv,
    SAGEConv,
    SGConv,
    TransformerConv,
)
from torch_geometric.nn.models import GAT, GCN, GIN, GraphSAGE

sys.path.insert(0, str(Path(__file__).parent))
import pyg_coverage_models  # noqa: E402  (the linear convolutions' factories)

import gsnn  # noqa: E402
from gsnn.data import planetoid  # noqa: E402

RESULTS = Path(__file__).parent / "results"
Factory = Callable[[int, int, int], nn.Module]


class APPNPNet(nn.Module):
    """PyG's examples/citation/appnp.py: ``Linear -> ReLU -> Linear -> APPNP``."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int) -> None:
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(in_channels, hidden), nn.Linear(hidden, out_channels)
        self.prop = APPNP(K=10, alpha=0.1)

    def forward(self, x, edge_index):
        x = F.dropout(x, p=0.5, training=self.training)
        x = F.relu(self.lin1(x))
        x = F.dropout(x, p=0.5, training=self.training)
        return self.prop(self.lin2(x), edge_index)


def two(conv: Callable[[int, int], nn.Module]) -> Factory:
    return pyg_coverage_models.two(conv)


MODELS: Dict[str, Factory] = {
    "GCNConv (examples/gcn.py)": two(lambda i, o: GCNConv(i, o)),
    "SGConv (K=2)": two(lambda i, o: SGConv(i, o, K=2)),
    "SAGEConv (mean)": two(lambda i, o: SAGEConv(i, o)),
    "SAGEConv (sum)": two(lambda i, o: SAGEConv(i, o, aggr="sum")),
    "SAGEConv (max)": two(lambda i, o: SAGEConv(i, o, aggr="max")),
    "GraphConv (add)": two(lambda i, o: GraphConv(i, o)),
    "GraphConv (max)": two(lambda i, o: GraphConv(i, o, aggr="max")),
    **pyg_coverage_models.MODELS,
    "APPNP (examples/citation/appnp.py)": APPNPNet,
    "models.GCN (2 layers)": lambda i, h, o: GCN(i, h, 2, o),
    "models.GCN (3 layers, jk=cat)": lambda i, h, o: GCN(i, h, 3, o, jk="cat"),
    "models.GCN (3 layers, jk=max)": lambda i, h, o: GCN(i, h, 3, o, jk="max"),
    "models.GCN (3 layers, jk=last)": lambda i, h, o: GCN(i, h, 3, o, jk="last"),
    "models.GCN (act_first, batch_norm)": lambda i, h, o: GCN(
        i, h, 2, o, norm="batch_norm", act_first=True
    ),
    "models.GraphSAGE (2 layers)": lambda i, h, o: GraphSAGE(i, h, 2, o),
    "models.GIN (2 layers)": lambda i, h, o: GIN(i, h, 2, o),
    **pyg_coverage_models.FLOW_MODELS,
    "models.GCN (jk=lstm)": lambda i, h, o: GCN(i, h, 3, o, jk="lstm"),
    "GATConv": two(lambda i, o: GATConv(i, o)),
    "GATv2Conv": two(lambda i, o: GATv2Conv(i, o)),
    "TransformerConv": two(lambda i, o: TransformerConv(i, o)),
    "models.GAT": lambda i, h, o: GAT(i, h, 2, o),
}


def refusal(factory: Factory, data: Data) -> Optional[str]:
    """The message with which gsnn refuses an untrained copy of the model (or the error it
    crashes with), or ``None`` when it converts."""
    torch.manual_seed(0)
    model = factory(data.num_features, 16, int(data.y.max()) + 1).eval()
    try:
        gsnn.convert(model, data, method="rate", T=4, check=False)
    except (gsnn.ConversionError, ValueError) as error:
        return str(error).replace("\n", " ").replace("|", "/")
    except Exception as error:  # a crash is a bug of gsnn's: the table shows it as one
        return f"**crashes** ({type(error).__name__}: {error}): a bug, not a refusal"
    return None


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
    journal = RESULTS / "pyg_coverage.jsonl"
    # the linear convolutions' own run (same measure, same settings) counts for them too
    linear = RESULTS / "pyg_coverage_linear_convs.jsonl"
    rows = [
        json.loads(line)
        for path in (journal, linear)
        if path.exists()
        for line in path.read_text().splitlines()
    ]
    unique = {(row["model"], row["seed"]): row for row in reversed(rows)}  # first row wins
    rows = [row for row in unique.values() if row["epochs"] == args.epochs]
    data = planetoid("Cora")
    refused = {}
    for name in args.models:
        message = refusal(MODELS[name], data)
        if message is not None:
            refused[name] = message
            print(f"{name}: refused: {message[:160]}", flush=True)
    converting = [name for name in args.models if name not in refused]
    for seed in [] if args.summarise_only else args.seeds:  # seed-major: even seed counts
        done = {(row["model"], row["seed"]) for row in rows}
        for name in converting:
            if (name, seed) in done:
                continue
            row = pyg_coverage_models.measure(
                name, data, seed, epochs=args.epochs, factory=MODELS[name]
            )
            rows.append(row)
            with open(journal, "a") as out:  # one row per run: a rerun resumes
                out.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    measured = [r for r in rows if r["seed"] in args.seeds and r["model"] not in refused]
    order = list(MODELS)
    measured.sort(key=lambda r: order.index(r["model"]) if r["model"] in order else len(order))
    table = pyg_coverage_models.summarise(measured, [n for n in MODELS if n not in refused])
    lines = ["| model | refusal |", "| --- | --- |"]
    lines += [f"| {name} | {message} |" for name, message in refused.items()]
    title = "# PyG models on Cora: what converts, ANN vs converted SNN\n\n"
    command = (
        "Command: `GSNN_DATA_MIRROR=../shared/datasets OMP_NUM_THREADS=1 python "
        f"experiments/pyg_coverage.py --seeds {' '.join(map(str, args.seeds))} "
        f"--epochs {args.epochs}`. Cora public split, test accuracy in %, mean ± std over the "
        "seeds, input coding analog, rate with its default percentile (99.9), "
        "qcfs_from_relu with L = 8 and no fine-tuning. Agreement: fraction of all 2708 "
        "nodes where the rate SNN at T = 64 predicts the ANN's class.\n\n"
    )
    refusals = "\n## Refused, with the message a user sees\n\n" + "\n".join(lines) + "\n"
    (RESULTS / "pyg_coverage.md").write_text(title + command + table + refusals)
    print(table + refusals)


if __name__ == "__main__":
    main()
