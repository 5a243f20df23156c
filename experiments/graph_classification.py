"""Graph classification on TU data sets: ANN vs converted SNN under 10-fold cross-validation.

Protocol (the GIN paper's, Xu et al., ICLR 2019, with a fixed epoch count): stratified
folds drawn with one seeded generator; on each fold a plain-ReLU and a QCFS (L levels)
graph network are trained on the nine training folds for a fixed number of epochs (Adam,
lr 0.01 halved every 50 epochs as in the paper, batch 32; the paper trains 350 epochs and
reports the epoch of best mean test accuracy, here every fold stops at the same fixed
epoch and nothing is selected on the test fold), converted with the training folds as
calibration data (a DataLoader of Batch objects) and evaluated, ANN and SNN, on the test
fold. Mean ± std over folds.

Conversions (``METHOD:T[:OPTION=VALUE,...]``; defaults, trimmed per data set below):

- of the ReLU ANN: ``rate`` at T = 16, 32, 64, and at T = 64 / 128 with a half-threshold
  start (``initial_potential=0.5``) and per-channel thresholds (``channel_wise=true``);
  ``css`` at T = 8, 16; ``one-spike`` at K = T = 8, 16 (base 2) and with denser
  ladders (base 1.5 at K = 16, base 1.2 at K = 32);
- of the QCFS ANN: ``qcfs`` at T = L, 2L, 4L; at T = L also with the neuron options
  ``signed=true``, ``burst=L`` and both (``qcfs:4:signed=true,burst=4``, online and exact at
  any depth, O22c); ``two-phase`` at T = L.

Models:

- ``add``: 3 x GraphConv(add) + activation, ``global_add_pool``, Linear-act-Linear;
- ``mean``: the PyG Colab GCN: 3 x GCNConv (activation after the first two),
  ``global_mean_pool``, Linear;
- ``max``: 3 x GraphConv(add) + activation, ``global_max_pool``, Linear;
- ``gin``: examples/mutag_gin.py: 3 x GINConv (MLP Linear-act-Linear) + activation,
  ``global_add_pool``, Linear-act-dropout-Linear;
- ``gin-bn``: the current examples/mutag_gin.py with PyG's own ``MLP`` modules: 5 x GINConv
  (``MLP([in, 32, 32])``: Linear-BatchNorm-act-Linear) + activation, ``global_add_pool``,
  ``MLP([32, 32, classes], norm=None, dropout=0.5)`` (batch norm folded into the linear
  layers by the conversion).

Node features: PyG's defaults (one-hot node labels; PROTEINS and ENZYMES without their
continuous attributes); IMDB-BINARY has none and gets PyG's ``OneHotDegree(135)``
transform (its largest degree, the GIN paper's input for social graphs), see
``gsnn.data.tu_dataset``.

Every row of the journal (``--journal``) is one (data set, model, fold, method, options,
T): ANN and SNN test accuracy, the agreement of their predictions per graph, spikes,
synaptic operations and energy per graph (from ``SpikeStats.per_graph``, means over the
test graphs) and the ANN's energy per graph. The summary (written after every run, or
with ``--summary-only``) reads every ``results/graph_classification_*.jsonl``.

Commands used for the committed results (1 torch thread, one run at a time on a shared
2-core machine; MUTAG first with 100 epochs (lr halved every 50, the paper's schedule for
its first 100 epochs); the other data sets with 50 epochs, lr halved every 25, to fit the
deadline: PROTEINS with all four models, then ENZYMES, IMDB-BINARY and NCI1 fold by fold in
turn until the deadline, so *Folds run* in the results file says which folds each covers)::

    export OMP_NUM_THREADS=1 GSNN_DATA_MIRROR=../shared/datasets PYTHONPATH=$PWD
    R=experiments/results G="nice -n 10 python experiments/graph_classification.py"
    SHORT="--relu-runs rate:16 rate:32 rate:64 rate:64:initial_potential=0.5 css:8 css:16 \\
        one-spike:8 one-spike:16 one-spike:32:base=1.2 --qcfs-runs qcfs:4 qcfs:8 two-phase:4"
    $G --epochs 100 --datasets MUTAG --models gin add mean max \\
        --journal $R/graph_classification_MUTAG.jsonl
    $G --epochs 50 --halve-lr-every 25 --datasets PROTEINS --models gin add mean max \\
        --journal $R/graph_classification_PROTEINS.jsonl
    for fold in 0 1 2 3 4 5 6 7 8 9; do
        for d in ENZYMES IMDB-BINARY NCI1; do
            $G --epochs 50 --halve-lr-every 25 --datasets $d --models gin mean \\
                --only-folds $fold $SHORT --journal $R/graph_classification_$d.jsonl
        done
    done
    # NCI1 gin folds 2, 3, 8: QCFS ANNs again, after the |lambda| fix (refused rows removed)
    $G --epochs 50 --halve-lr-every 25 --datasets NCI1 --models gin --only-folds 2 3 8 \
        --relu-runs --qcfs-runs qcfs:4 qcfs:8 two-phase:4 \
        --journal $R/graph_classification_NCI1.jsonl
    # qcfs neuron options at T = L on MUTAG and PROTEINS (added later): the QCFS ANNs are
    # retrained (same seeds: bit for bit the ANNs above, checked by re-running plain qcfs:4
    # into a scratch journal and comparing its rows with the committed ones), and only the
    # option rows were appended to the journals
    Q="--relu-runs --qcfs-runs qcfs:4:signed=true qcfs:4:burst=4 qcfs:4:signed=true,burst=4"
    $G --epochs 100 --datasets MUTAG --models gin add mean max $Q \
        --journal $R/graph_classification_MUTAG.jsonl
    $G --epochs 50 --halve-lr-every 25 --datasets PROTEINS --models gin add mean max $Q \
        --journal $R/graph_classification_PROTEINS.jsonl
    # PyG's current example GIN (gin-bn) on every data set, 100 epochs, lr halved every 50
    BN="--epochs 100 --models gin-bn --relu-runs rate:64 rate:64:initial_potential=0.5 \
        rate:128:initial_potential=0.5 css:8 css:16 one-spike:32:base=1.2 --qcfs-runs qcfs:4 \
        qcfs:4:signed=true qcfs:4:burst=4 qcfs:4:signed=true,burst=4 two-phase:4"
    for d in MUTAG PROTEINS ENZYMES IMDB-BINARY NCI1; do
        $G $BN --datasets $d --journal $R/graph_classification_$d.jsonl
    done
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
    MLP,
    GCNConv,
    GINConv,
    GraphConv,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
)

import gsnn
from gsnn.ann import QCFS, graph_accuracy, train_graph_classifier
from gsnn.data import tu_dataset, without_edge_features

RESULTS = Path(__file__).parent / "results"
RELU_RUNS = [
    *(("rate", T, {}) for T in (16, 32, 64)),
    ("rate", 64, {"initial_potential": 0.5}),
    ("rate", 64, {"initial_potential": 0.5, "channel_wise": True}),
    ("rate", 128, {"initial_potential": 0.5}),
    *((method, T, {}) for method in ("css", "one-spike") for T in (8, 16)),
    ("one-spike", 16, {"base": 1.5}),
    ("one-spike", 32, {"base": 1.2}),
]


def qcfs_neuron_options(levels):
    """The neuron options of qcfs measured at T = L beside the plain online neuron: corrective
    negative spikes, bursts of up to L spikes, and both (exact at any depth, O22c)."""
    return [{"signed": True}, {"burst": levels}, {"signed": True, "burst": levels}]


def option_value(text):
    """``"true"`` / ``"false"`` as booleans, whole numbers as ints (``burst=4``), other
    numbers as floats, anything else as it is."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def method_and_steps(text):
    """``"rate:64"`` as ``("rate", 64, {})``, ``"rate:64:initial_potential=0.5"`` as
    ``("rate", 64, {"initial_potential": 0.5})`` (options of the method, comma-separated)."""
    method, steps, *rest = text.split(":")
    options = {}
    for item in filter(None, ",".join(rest).split(",")):
        key, equals, value = item.partition("=")
        if not equals:
            raise argparse.ArgumentTypeError(f"option {item!r} of {text!r} is not KEY=VALUE")
        options[key] = option_value(value)
    return method, int(steps), options


def run_label(row):
    """The method and its options as one table cell: ``rate (initial_potential=0.5)``."""
    options = row.get("options") or {}
    shown = ", ".join(
        f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in sorted(options.items())
    )
    return f"{row['method']} ({shown})" if shown else row["method"]


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


class PyGExampleGIN(nn.Module):
    """PyG's current examples/mutag_gin.py: five GINConv layers whose nn is PyG's own
    ``MLP([in, hidden, hidden])`` (Linear, BatchNorm, activation, Linear), the activation
    after each conv, ``global_add_pool`` and ``MLP([hidden, hidden, classes], norm=None,
    dropout=0.5)``; the activation module is passed to the MLPs as ``act``."""

    def __init__(self, features, hidden, classes, levels=None, layers=5):
        super().__init__()
        self.convs = nn.ModuleList(
            GINConv(MLP([features if i == 0 else hidden, hidden, hidden], act=activation(levels)))
            for i in range(layers)
        )
        self.acts = nn.ModuleList(activation(levels) for _ in range(layers))
        self.mlp = MLP([hidden, hidden, classes], norm=None, dropout=0.5, act=activation(levels))

    def forward(self, x, edge_index, batch):
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x, edge_index))
        return self.mlp(global_add_pool(x, batch))


MODELS = {
    "add": SumReadoutNet,
    "mean": MeanReadoutGCN,
    "max": MaxReadoutNet,
    "gin": GINNet,
    "gin-bn": PyGExampleGIN,
}


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
        train_graph_classifier(
            model, train, epochs=args.epochs, lr=args.lr, halve_lr_every=args.halve_lr_every
        )
        ann_accuracy = graph_accuracy(model, test_loader)
        with torch.no_grad():
            ann_predictions = model(
                test_graphs.x, test_graphs.edge_index, test_graphs.batch
            ).argmax(-1)
        for method, T, options in runs:
            row = {
                "dataset": dataset.name,
                "model": model_name,
                "ann": "ReLU" if levels is None else f"QCFS L={levels}",
                "fold": fold,
                "seed": args.seed,
                "epochs": args.epochs,
                "halve_lr_every": args.halve_lr_every,
                "method": method,
                "options": options,
                "T": T,
                "ann_accuracy": ann_accuracy,
            }
            try:
                snn = gsnn.convert(model, calibration, method=method, T=T, check=False, **options)
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


def group_rows(rows):
    """Rows of one (data set, epochs, model, ANN, method with options, T), in journal order."""
    groups = {}
    for row in rows:
        key = (row["dataset"], row["epochs"], row["model"], row["ann"], run_label(row), row["T"])
        groups.setdefault(key, []).append(row)
    return groups


def summarise(rows):
    lines = [
        "| dataset | epochs | model | ANN | method | T | folds | ANN acc. % | SNN acc. % "
        "| loss pts | agreement % | spikes/graph | SOPs/graph | SNN nJ/graph | ANN nJ/graph "
        "| energy SNN/ANN |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, epochs, model, ann, label, T), group in group_rows(rows).items():
        done = [r for r in group if "error" not in r]
        if not done:
            lines.append(
                f"| {dataset} | {epochs} | {model} | {ann} | {label} | {T} | 0 | refused: "
                f"{group[0]['error'][:120]} ||||||||||"
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
        ratio = mean_std([r["energy_per_graph_pj"] / r["ann_energy_per_graph_pj"] for r in done])[0]
        lines.append(
            f"| {dataset} | {epochs} | {model} | {ann} | {label} | {T} | {len(done)} "
            f"| {ann_acc[0]:.2f} ± {ann_acc[1]:.2f} | {snn_acc[0]:.2f} ± {snn_acc[1]:.2f} "
            f"| {loss[0]:+.2f} ± {loss[1]:.2f} | {agree[0]:.2f} ± {agree[1]:.2f} "
            f"| {spikes:.0f} | {sops:.3g} | {energy:.3g} | {ann_energy:.3g} | {ratio:.3f} |"
        )
    return lines


def targets(rows, datasets=("MUTAG", "PROTEINS")):
    """The issue's bounds on ``datasets``: qcfs at T = L agrees with its QCFS ANN on >= 99 %
    of graphs; rate at T = 64 loses <= 1 point against its ReLU ANN (means over folds). The
    bound is applied to every option set of the method at that T (plain online qcfs, signed,
    burst, signed bursts; rate with a half-threshold start or per-channel thresholds); what
    reaches further is listed without one: qcfs at longer T, two-phase at T = L (the exact
    alternative, O22a), rate at T = 128."""
    lines = [
        "| dataset | model | run | measured (mean over folds) | bound | met |",
        "|---|---|---|---|---|---|",
    ]
    groups = group_rows(r for r in rows if "error" not in r)
    order = list(MODELS)  # per data set, the models in MODELS' order; runs in journal order
    keys = sorted(groups, key=lambda key: (key[0], order.index(key[2])))
    for dataset, _, model, ann, label, T in keys:
        group = groups[(dataset, _, model, ann, label, T)]
        if dataset not in datasets:
            continue
        levels = int(ann.split("=")[-1]) if ann.startswith("QCFS") else None
        agreement = mean_std([100 * r["agreement"] for r in group])[0]
        loss = mean_std([100 * (r["ann_accuracy"] - r["snn_accuracy"]) for r in group])[0]
        folds = f"({len(group)} folds)"
        if label.startswith("qcfs") and T == levels:
            met = "yes" if agreement >= 99 else "no"
            cells = (f"agreement {agreement:.2f} % {folds}", ">= 99 % of graphs", met)
        elif label.startswith(("qcfs", "two-phase")):
            cells = (f"agreement {agreement:.2f} % {folds}", "(reach)", "")
        elif label.startswith("rate") and T == 64:
            met = "yes" if loss <= 1 else "no"
            cells = (
                f"loss {loss:+.2f} pts, agreement {agreement:.2f} % {folds}",
                "<= 1 point",
                met,
            )
        elif label.startswith("rate") and T >= 64:
            cells = (f"loss {loss:+.2f} pts, agreement {agreement:.2f} % {folds}", "(reach)", "")
        else:
            continue
        lines.append(f"| {dataset} | {model} | {label} T={T} | " + " | ".join(cells) + " |")
    return lines


def coverage(rows):
    """Per data set and model: the epochs, the learning-rate schedule and the test folds its
    rows cover."""
    lines = [
        "| dataset | model | epochs | lr halved every | folds run | of |",
        "|---|---|---|---|---|---|",
    ]
    runs = {}
    for row in rows:
        key = (row["dataset"], row["model"], row["epochs"], row.get("halve_lr_every"))
        runs.setdefault(key, set()).add(row["fold"])
    for (dataset, model, epochs, halving), folds in runs.items():
        shown = ", ".join(str(fold) for fold in sorted(folds))
        lines.append(f"| {dataset} | {model} | {epochs} | {halving} | {shown} | 10 |")
    return lines


READING = """## Reading

**Targets.** The issue asks, on MUTAG and PROTEINS, for GIN + `global_add_pool`, the mean-pool
GCN and the max-pool model: qcfs at T = L agreeing with its QCFS ANN on >= 99 % of graphs
and rate at T = 64 losing <= 1 point. The table above gives, per target, the measured mean
over folds and whether it is met, and under it what reaches further (qcfs at 2L and 4L,
two-phase at T = L, rate with a half-threshold start, per-channel thresholds, T = 128).

**Why plain qcfs at T = L falls short of 99 % (methods.md O22b).** An online soft-reset IF
neuron equals the QCFS activation exactly only when its input current is the same at every
step, which holds for the first spiking layer (analog input) and nowhere after it: deeper
layers receive spike trains whose timing varies, so a neuron whose input arrives late or
changes sign mid-window ends the window with charge its count cannot express and fires one
level too many or too few. These one-level errors compound over the layers (the GIN has
eight spiking layers: three GINConv MLPs of two layers and the head) and `global_add_pool`
sums them over every node of a graph before the classifier; the mean-pool GCN, whose
readout divides by the node count and whose last conv is pooled as currents (two spiking
layers), comes closest, and the GIN is furthest. Longer T does not close it (qcfs at 2L and
4L agree more on some models and less on others): at T != L even the first spiking layer
quantises to T levels instead of the ANN's L.

**Signed bursts meet the bound on every model (O9b, O22c).** qcfs with `signed=True,
burst=4` (at T = L = 4: up to T spikes of either sign per neuron and step, net count kept
in [0, T]) ends every window at the exact QCFS of the neuron's total input, whatever order it
arrived in. So it agrees with its QCFS ANN on every graph of every fold, on all four target
models and on the five-layer batch-norm GIN of PyG's current example (`gin-bn`). The latency
stays T = 4, where two-phase, also exact, needs (D + 1) T. The price is spikes: corrections
and bursts are events, so compare the *spikes/graph* column with plain qcfs and two-phase
on the same ANN. Neither ingredient alone is enough (the rows above). `signed=True` alone
(O9's neuron) is exact only while no step's input exceeds the threshold, and sum
aggregation and `global_add_pool` break that bound. `burst=4` alone lets late charge out
but cannot take back early over-firing.

**Rate at T = 64.** Plain rate coding floors every neuron's count, and deep layers start
firing late. With the half-threshold start (`initial_potential=0.5`: rounding instead of
flooring, an option of `rate`; its default stays v0 = 0, the Rueckauer recipe) the loss is
within 1 point on all four target models on both data sets. Per-channel thresholds are
measured next to it, and T = 128 shows what is left at twice the time. The batch-norm GIN
(`gin-bn`, not a target model) is the hard case for rate: folding batch norm into the linear
layers widens the range each threshold must cover.

**One-spike K = 8 and K = 16.** The rows differ in spikes and energy per graph, so T reaches
the method; their accuracy can coincide because a one-spike neuron's value is rounded on a
geometric ladder theta B^-k: the relative error of every neuron is at most (B - 1)/(B + 1)
(1/3 for B = 2, methods.md O11) whatever K is, and K only adds rungs below theta B^-(K-1)
(below theta/128 already at K = 8), values too small to change a prediction. A denser
ladder does: base 1.5 at K = 16 and base 1.2 at K = 32 (rows above).

**ANN accuracy.** A fixed epoch count without epoch selection gives lower ANN accuracy
than the GIN paper's figures (it reports the epoch of best mean test accuracy after 350
epochs); the QCFS ANNs (L = 4) can trail their ReLU twins, most on the sum-pooled models
on PROTEINS at 50 epochs (the ANN acc. column). That is the training budget, not the
conversion: every loss and agreement compares the SNN with the ANN it was converted from.
On ENZYMES, NCI1 and IMDB-BINARY (50 epochs, lr 0.01, no batch norm, hidden width 32) many
of these ANNs stayed at or near chance (ENZYMES has 6 classes, the others 2; see the ANN
acc. column; the calibration warned of a GIN layer that never activated on an NCI1 fold):
those rows show that the models convert and how closely the SNN follows its ANN, not
classifiers worth using; training them properly (batch norm, the paper's 350 epochs) is
left open. Three NCI1 gin folds (2, 3, 8) first ran before QCFS used its bound as
|lambda|: a bound trained below zero and their qcfs / two-phase conversions were refused.
Their QCFS ANNs were retrained with the |lambda| bound (the ReLU rows of those folds and
every other fold are unchanged by it) and now convert; qcfs at T = L agrees with them on
every graph.

**Statistics per graph.** spikes/graph, SOPs/graph and SNN nJ/graph are
`SpikeStats.per_graph` / `energy_per_graph_pj` averaged over the test graphs of a fold
(a pooled layer's events are charged to the graph they read), then over folds; ANN nJ/graph
is the ANN's MAC energy of the same test fold divided by its graphs; energy SNN/ANN is
their ratio on each fold (both over the same test graphs), averaged over folds.

**max pool and css.** `global_max_pool` takes the max of running spike counts, which is
exact only for codes whose value is the count; css weights spikes by their time, so its
conversion is refused with that reason (the refused rows).
"""


def plot(rows, path):
    """ANN - SNN accuracy against SNN energy per graph: a panel per data set, a colour per
    method (with its options), a marker per model; T is not labelled (see the table)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    done = [r for r in rows if "error" not in r]
    datasets = sorted({r["dataset"] for r in done})
    labels = sorted({run_label(r) for r in done})
    colours = {label: plt.cm.tab20(i % 20) for i, label in enumerate(labels)}
    markers = {"add": "o", "mean": "s", "max": "^", "gin": "D", "gin-bn": "v"}
    columns = min(len(datasets), 3)
    grid_rows = math.ceil(len(datasets) / columns)
    figure, axes = plt.subplots(
        grid_rows, columns, figsize=(5.5 * columns, 4.2 * grid_rows), squeeze=False
    )
    for axis in axes.flat[len(datasets) :]:
        axis.axis("off")
    for axis, dataset in zip(axes.flat, datasets):
        groups = {}
        for r in done:
            if r["dataset"] == dataset:
                groups.setdefault((r["model"], run_label(r), r["T"]), []).append(r)
        for (model, label, T), group in sorted(groups.items()):
            energy = sum(r["energy_per_graph_pj"] for r in group) / len(group) / 1e3
            loss = sum(100 * (r["ann_accuracy"] - r["snn_accuracy"]) for r in group) / len(group)
            axis.scatter(energy, loss, marker=markers[model], color=colours[label], s=22)
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel("SNN energy per graph (nJ, estimate)")
        axis.set_ylabel("ANN - SNN accuracy (points)")
        axis.set_title(f"{dataset} (o add, s mean, ^ max, D gin, v gin-bn)", fontsize=9)
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=colours[label], label=label)
        for label in labels
    ]
    figure.legend(handles=handles, loc="lower center", ncol=4, fontsize=7)
    figure.tight_layout(rect=(0, 0.12, 1, 1))
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
        "--halve-lr-every", type=int, default=50, help="epochs between halvings of the lr"
    )
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
        help="METHOD:T conversions of the QCFS ANN (default: qcfs at T = L, 2L, 4L, qcfs "
        "signed / burst / signed bursts and two-phase at T = L)",
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
        L = args.levels
        args.qcfs_runs = [("qcfs", L * k, {}) for k in (1, 2, 4)]
        args.qcfs_runs += [("qcfs", L, options) for options in qcfs_neuron_options(L)]
        args.qcfs_runs.append(("two-phase", L, {}))
    torch.set_num_threads(1)
    journal_path = Path(
        args.journal or RESULTS / f"graph_classification_{'_'.join(args.datasets)}.jsonl"
    )
    if not args.summary_only:
        with journal_path.open("a") as journal:
            for name in args.datasets:
                dataset = tu_dataset(name, args.root)
                if "edge_attr" in dataset[0]:
                    dataset.transform = without_edge_features
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
        "commands, the models and the protocol): stratified 10-fold cross-validation, folds "
        f"drawn with seed {args.seed}, a fixed number of epochs of Adam (lr {args.lr}, halved "
        "on a schedule; both per data set in *Folds run*; batch 32, no epoch selected on the "
        f"test fold), hidden width {args.hidden}, analog input coding, the training folds as "
        "calibration data; IMDB-BINARY's node features are PyG's `OneHotDegree(135)`. Where "
        "fewer than 10 folds ran (the deadline), *Folds run* says which. Mean ± std over "
        "folds; *loss* = ANN - SNN test accuracy in points on the same fold; *agreement* = "
        "graphs where SNN and ANN predict the same class; energy is the estimate of "
        "gsnn.metrics (4.6 pJ/MAC, 0.9 pJ/AC) per test graph.",
        "",
        "## Targets",
        "",
        *targets(rows),
        "",
        "## Folds run",
        "",
        *coverage(rows),
        "",
        READING,
        "## All runs",
        "",
        *summarise(rows),
    ]
    (RESULTS / "graph_classification.md").write_text("\n".join(summary) + "\n")
    plot(rows, RESULTS / "graph_classification_loss_vs_energy.png")


if __name__ == "__main__":
    main()
