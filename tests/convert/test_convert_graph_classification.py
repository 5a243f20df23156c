"""Graph classification: PyG's readouts (global_*_pool, aggr modules) convert, batched.

Models are written the way PyG's examples write them (examples/mutag_gin.py's
layout with GraphConv, the Colab GCN with ``global_mean_pool`` of the last
conv, aggregation modules, ``torch_geometric.nn.Sequential``).
"""

import pytest
import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import (
    GCNConv,
    GINConv,
    GraphConv,
    aggr,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
    global_sort_pool,
)
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import QCFS

FEATURES, HIDDEN, CLASSES, LEVELS = 5, 12, 3, 4


def random_graphs(count, seed):
    generator = torch.Generator().manual_seed(seed)
    graphs = []
    for index in range(count):
        nodes = int(torch.randint(3, 11, (1,), generator=generator))
        torch.manual_seed(seed * 100 + index)
        graphs.append(
            Data(
                x=torch.rand(nodes, FEATURES, generator=generator),
                edge_index=erdos_renyi_graph(nodes, 0.4),
                y=torch.tensor([index % CLASSES]),
            )
        )
    return graphs


@pytest.fixture(scope="module")
def batch():
    return Batch.from_data_list(random_graphs(16, seed=0))


class OneHiddenLayer(nn.Module):
    """GraphConv, QCFS, a readout, Linear: exact at T = L for count codes."""

    def __init__(self, readout):
        super().__init__()
        self.conv = GraphConv(FEATURES, HIDDEN)
        self.act = QCFS(levels=LEVELS, init_threshold=1.5)
        self.lin = nn.Linear(HIDDEN, CLASSES)
        self.readout = readout

    def forward(self, x, edge_index, batch):
        x = self.act(self.conv(x, edge_index))
        if self.readout == "add":
            x = global_add_pool(x, batch)
        elif self.readout == "mean":
            x = global_mean_pool(x, batch)
        else:
            x = global_max_pool(x, batch)
        return self.lin(x)


def run_both(model, snn, graphs):
    with torch.no_grad():
        return model(graphs.x, graphs.edge_index, graphs.batch), snn(
            graphs.x, graphs.edge_index, graphs.batch
        )


def assert_qcfs_equals_its_ann(model, graphs):
    """A QCFS model with one hidden layer, converted with qcfs at T = L, gives its ANN's logits."""
    snn = gsnn.convert(model.eval(), graphs, method="qcfs", T=LEVELS)
    torch.testing.assert_close(*reversed(run_both(model, snn, graphs)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("readout", ["add", "mean", "max"])
def test_readout_after_qcfs_equals_its_ann_at_T_equal_L(batch, readout):
    torch.manual_seed(1)
    model = OneHiddenLayer(readout).eval()
    snn = gsnn.convert(model, batch, method="qcfs", T=LEVELS)
    ann_out, snn_out = run_both(model, snn, batch)
    assert snn_out.shape == (batch.num_graphs, CLASSES)
    torch.testing.assert_close(snn_out, ann_out, rtol=1e-5, atol=1e-5)
    assert snn.conversion_check["rows"] == batch.num_graphs  # the check counts graphs
    # other graphs than the calibration batch
    unseen = Batch.from_data_list(random_graphs(7, seed=5))
    torch.testing.assert_close(*reversed(run_both(model, snn, unseen)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "module", [aggr.SumAggregation(), aggr.MeanAggregation(), aggr.MaxAggregation()]
)
def test_aggregation_modules_convert_like_the_functions(batch, module):
    class ModuleReadout(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act = GCNConv(FEATURES, HIDDEN), QCFS(LEVELS, 1.0)
            self.pool, self.lin = module, nn.Linear(HIDDEN, CLASSES)

        def forward(self, x, edge_index, batch):
            return self.lin(self.pool(self.act(self.conv(x, edge_index)), batch))

    torch.manual_seed(2)
    assert_qcfs_equals_its_ann(ModuleReadout(), batch)


class AttributeReadout(nn.Module):
    """A readout function kept as an attribute (``self.pool = global_add_pool``), called with
    a fixed number of graphs as PyG's third argument (``size``)."""

    def __init__(self, readout, graphs):
        super().__init__()
        self.conv, self.act = GraphConv(FEATURES, HIDDEN), QCFS(LEVELS, 1.0)
        self.pool, self.lin, self.graphs = readout, nn.Linear(HIDDEN, CLASSES), graphs

    def forward(self, x, edge_index, batch):
        x = self.act(self.conv(x, edge_index))
        return self.lin(self.pool(x, batch, self.graphs))


@pytest.mark.parametrize("readout", [global_add_pool, global_mean_pool, global_max_pool])
def test_readout_functions_held_as_attributes_convert(batch, readout):
    torch.manual_seed(4)
    model = AttributeReadout(readout, batch.num_graphs)
    assert_qcfs_equals_its_ann(model, batch)
    assert model.pool is readout  # the user's model is left as it was


def test_readout_function_in_a_submodule_attribute_converts(batch):
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.readout, self.lin = global_mean_pool, nn.Linear(HIDDEN, CLASSES)

        def forward(self, x, batch):
            return self.lin(self.readout(x, batch))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act, self.head = GCNConv(FEATURES, HIDDEN), QCFS(LEVELS, 1.0), Head()

        def forward(self, x, edge_index, batch):
            return self.head(self.act(self.conv(x, edge_index)), batch)

    torch.manual_seed(5)
    assert_qcfs_equals_its_ann(Net(), batch)


def test_sort_pool_held_as_an_attribute_is_named_with_the_reason(batch):
    class SortAttribute(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.lin = GCNConv(FEATURES, HIDDEN), nn.Linear(3 * HIDDEN, CLASSES)
            self.pool = global_sort_pool

        def forward(self, x, edge_index, batch):
            return self.lin(self.pool(self.conv(x, edge_index).relu(), batch, 3))

    with pytest.raises(gsnn.ConversionError, match="'pool' holds global_sort_pool.*sort pool"):
        gsnn.convert(SortAttribute().eval(), batch, method="rate", T=8)


class MutagGINStyle(nn.Module):
    """The layout of PyG's examples/mutag_gin.py: GINConv over PyG ``MLP``s (batch norm
    inside), ``.relu()`` after every conv, ``global_add_pool``, an ``MLP`` head with dropout."""

    def __init__(self, layers=3):
        super().__init__()
        widths = [FEATURES] + [HIDDEN] * layers
        self.convs = nn.ModuleList(
            GINConv(pyg_nn.MLP([width, HIDDEN, HIDDEN])) for width in widths[:-1]
        )
        self.head = pyg_nn.MLP([HIDDEN, HIDDEN, CLASSES], norm=None, dropout=0.5)

    def forward(self, x, edge_index, batch):
        for conv in self.convs:
            x = conv(x, edge_index).relu()
        return self.head(global_add_pool(x, batch))


class ModelsGINReadout(nn.Module):
    """PyG's ``models.GIN`` as the node encoder, then ``global_add_pool`` and a Linear."""

    def __init__(self):
        super().__init__()
        self.encoder = pyg_nn.models.GIN(FEATURES, HIDDEN, num_layers=2, out_channels=HIDDEN)
        self.lin = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x, edge_index, batch):
        return self.lin(global_add_pool(self.encoder(x, edge_index), batch))


@pytest.mark.parametrize("model_type", [MutagGINStyle, ModelsGINReadout])
def test_pyg_gin_graph_classifiers_convert(batch, model_type):
    torch.manual_seed(6)
    model = model_type()
    with torch.no_grad():  # batch-norm statistics that are not the initial identity
        model.train()
        for _ in range(3):
            model(batch.x, batch.edge_index, batch.batch)
    model.eval()
    snn = gsnn.convert(model, batch, method="css", T=16)
    ann_out, snn_out = run_both(model, snn, batch)
    # css digits halve their error per step (O10): 16 steps leave a small fraction of the
    # logits' range after the layers' errors add up
    torch.testing.assert_close(snn_out, ann_out, rtol=0, atol=0.05 * float(ann_out.abs().max()))


class ColabGCN(nn.Module):
    """The PyG Colab graph-classification GCN: the last conv's output is pooled unactivated."""

    def __init__(self):
        super().__init__()
        self.conv1 = GCNConv(FEATURES, HIDDEN)
        self.conv2 = GCNConv(HIDDEN, HIDDEN)
        self.lin = nn.Linear(HIDDEN, CLASSES)
        self.act = QCFS(LEVELS, 1.0)

    def forward(self, x, edge_index, batch):
        x = self.act(self.conv1(x, edge_index))
        x = self.conv2(x, edge_index)
        x = pyg_nn.global_mean_pool(x, batch)  # read from the package, not imported
        x = F.dropout(x, p=0.5, training=self.training)
        return self.lin(x)


def test_mean_pool_of_currents_converts_exactly(batch):
    torch.manual_seed(3)
    assert_qcfs_equals_its_ann(ColabGCN(), batch)


def test_calibration_from_a_loader_and_calls_with_data(batch):
    class TakesData(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = OneHiddenLayer("add")

        def forward(self, data):
            return self.inner(data.x, data.edge_index, data.batch)

    torch.manual_seed(4)
    model = TakesData().eval()
    loader = DataLoader(random_graphs(20, seed=1), batch_size=8)
    snn = gsnn.convert(model, loader, method="qcfs", T=LEVELS)
    with torch.no_grad():
        torch.testing.assert_close(snn(batch), model(batch), rtol=1e-5, atol=1e-5)
    assert snn.conversion_check["rows"] == 8  # the first batch's graphs


def test_single_graph_without_batch_reads_one_graph():
    class Single(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act = GCNConv(FEATURES, HIDDEN), QCFS(LEVELS, 1.0)
            self.lin = nn.Linear(HIDDEN, CLASSES)

        def forward(self, x, edge_index):
            return self.lin(global_mean_pool(self.act(self.conv(x, edge_index)), None))

    torch.manual_seed(5)
    graph = random_graphs(1, seed=2)[0]
    model = Single().eval()
    snn = gsnn.convert(model, graph, method="qcfs", T=LEVELS)
    with torch.no_grad():
        out = snn(graph.x, graph.edge_index)
        torch.testing.assert_close(out, model(graph.x, graph.edge_index), rtol=1e-5, atol=1e-5)
    assert out.shape == (1, CLASSES)


def test_max_readout_runs_in_chunks_like_one_pass(batch):
    torch.manual_seed(6)
    model = OneHiddenLayer("max").eval()
    snn = gsnn.convert(model, batch, method="qcfs", T=16)
    whole = snn(batch.x, batch.edge_index, batch.batch)
    spikes = snn.last_stats.spikes
    snn.steps_per_chunk = 5
    torch.testing.assert_close(snn(batch.x, batch.edge_index, batch.batch), whole)
    assert snn.last_stats.spikes == spikes


@pytest.mark.parametrize("method", ["phase", "css"])
def test_max_readout_refused_for_weighted_codes(batch, method):
    class ReluMax(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.lin = GCNConv(FEATURES, HIDDEN), nn.Linear(HIDDEN, CLASSES)

        def forward(self, x, edge_index, batch):
            return self.lin(global_max_pool(self.conv(x, edge_index).relu(), batch))

    with pytest.raises(gsnn.ConversionError, match=f"method '{method}' weights its spikes"):
        gsnn.convert(ReluMax().eval(), batch, method=method, T=8)


def test_max_readout_of_currents_refused(batch):
    class MaxOfCurrents(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.lin = GCNConv(FEATURES, HIDDEN), nn.Linear(HIDDEN, CLASSES)

        def forward(self, x, edge_index, batch):
            return self.lin(global_max_pool(self.conv(x, edge_index), batch))

    with pytest.raises(gsnn.ConversionError, match="of currents has no exact spiking form"):
        gsnn.convert(MaxOfCurrents().eval(), batch, method="rate", T=8)


@pytest.mark.parametrize("readout", ["add", "mean"])
def test_per_graph_statistics_add_up_and_count_events_honestly(batch, readout):
    torch.manual_seed(7)
    model = OneHiddenLayer(readout).eval()
    snn = gsnn.convert(model, batch, method="qcfs", T=LEVELS)
    snn(batch.x, batch.edge_index, batch.batch)
    stats = snn.last_stats
    for count in ("spikes", "synaptic_ops", "macs", "multiplies"):
        per_graph = stats.per_graph(count)
        assert per_graph.shape == (batch.num_graphs,)
        assert float(per_graph.sum()) == pytest.approx(getattr(stats, count))
    assert float(stats.energy_per_graph_pj.sum()) == pytest.approx(stats.energy_pj)
    # every spike of the hidden neurons reaches each of the CLASSES outputs once,
    # whether the readout sums or averages (a mean's unit stands for N_g spikes)
    neuron = next(layer for layer in stats.layers if layer.kind == "neuron")
    lin = next(layer for layer in stats.layers if layer.name == "lin")
    assert lin.synaptic_ops == pytest.approx(neuron.spikes * CLASSES)
    spikes_by_graph = torch.zeros(batch.num_graphs, dtype=torch.float64)
    neuron_spikes = {}

    def hook(module, inputs, output):
        neuron_spikes["s"] = output

    name = next(name for name, _ in snn.neurons())
    handle = getattr(snn.body, name).register_forward_hook(hook)
    snn(batch.x, batch.edge_index, batch.batch)
    handle.remove()
    per_node = neuron_spikes["s"].abs().sum(dim=(0, 2)).to(torch.float64)
    spikes_by_graph.index_add_(0, batch.batch, per_node)
    torch.testing.assert_close(neuron.per_graph["spikes"], spikes_by_graph)
    # the division by N_g of a mean: one multiply per output value and step
    divisions = batch.num_graphs * CLASSES * LEVELS if readout == "mean" else 0
    assert lin.multiplies == divisions


def test_node_classifier_statistics_have_no_per_graph_split():
    class NodeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act = GCNConv(FEATURES, CLASSES), QCFS(LEVELS, 1.0)

        def forward(self, x, edge_index):
            return self.act(self.conv(x, edge_index))

    graph = random_graphs(1, seed=3)[0]
    snn = gsnn.convert(NodeNet().eval(), graph, method="qcfs", T=LEVELS)
    snn(graph.x, graph.edge_index)
    with pytest.raises(ValueError, match="no graph readout"):
        snn.last_stats.per_graph("spikes")


def test_pyg_sequential_converts(batch):
    torch.manual_seed(8)
    model = pyg_nn.Sequential(
        "x, edge_index, batch",
        [
            (GCNConv(FEATURES, HIDDEN), "x, edge_index -> x"),
            QCFS(LEVELS, 1.0),
            (global_add_pool, "x, batch -> x"),
            nn.Linear(HIDDEN, CLASSES),
        ],
    )
    assert_qcfs_equals_its_ann(model, batch)


@pytest.mark.parametrize(
    "pool, width, named",
    [
        (aggr.AttentionalAggregation(nn.Linear(HIDDEN, 1)), HIDDEN, "AttentionalAggregation"),
        # the deprecated name of the same module, still what older examples write
        (pyg_nn.GlobalAttention(nn.Linear(HIDDEN, 1)), HIDDEN, "GlobalAttention"),
        (aggr.Set2Set(HIDDEN, processing_steps=2), 2 * HIDDEN, "Set2Set"),
        (aggr.SortAggregation(k=3), 3 * HIDDEN, "SortAggregation"),
    ],
)
def test_unconvertible_readouts_are_named_with_the_reason(batch, pool, width, named):
    class Readout(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.pool = GCNConv(FEATURES, HIDDEN), pool
            self.lin = nn.Linear(width, CLASSES)

        def forward(self, x, edge_index, batch):
            return self.lin(self.pool(self.conv(x, edge_index).relu(), batch))

    with pytest.raises(gsnn.ConversionError, match=named) as error:
        gsnn.convert(Readout().eval(), batch, method="rate", T=8)
    assert "pool with global_add_pool" in str(error.value)
    assert any(named in name for name in error.value.offending)


def test_global_sort_pool_is_named_with_the_reason(batch):
    class SortReadout(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.lin = GCNConv(FEATURES, HIDDEN), nn.Linear(3 * HIDDEN, CLASSES)

        def forward(self, x, edge_index, batch):
            return self.lin(global_sort_pool(self.conv(x, edge_index).relu(), batch, 3))

    with pytest.raises(gsnn.ConversionError, match="global_sort_pool.*sort pooling orders"):
        gsnn.convert(SortReadout().eval(), batch, method="rate", T=8)
