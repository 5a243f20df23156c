"""GIN (GINConv's MLP traced into neurons and layers) and PyG's BasicGNN options: a shared
activation module, act_first, norm="batch_norm"."""

import pytest
import torch
from small_graph import CLASSES, FEATURES, HIDDEN, LEVELS, initialised, run, small_graph
from torch import nn
from torch_geometric.data import Data
from torch_geometric.nn import MLP, GINConv
from torch_geometric.nn.models import GCN, GIN, GraphSAGE

import gsnn
from gsnn.ann import QCFS
from gsnn.ann.gin_aggregation import GINAggregation

F64 = torch.float64


@pytest.fixture(scope="module")
def graph() -> Data:
    return small_graph()


class SequentialGIN(nn.Module):
    """GIN as PyG's earlier examples wrote it: GINConv(Sequential(Linear, BN, act, Linear, act))."""

    def __init__(self, train_eps: bool = False):
        super().__init__()

        def mlp(channels_in):
            return nn.Sequential(
                nn.Linear(channels_in, HIDDEN),
                nn.BatchNorm1d(HIDDEN),
                QCFS(levels=LEVELS),
                nn.Linear(HIDDEN, HIDDEN),
                QCFS(levels=LEVELS),
            )

        self.conv1 = GINConv(mlp(FEATURES), train_eps=train_eps)
        self.conv2 = GINConv(mlp(HIDDEN), train_eps=train_eps)
        self.lin = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x, edge_index):
        x = self.conv1(x, edge_index)
        x = self.conv2(x, edge_index)
        return self.lin(x)


class OneSiteGIN(nn.Module):
    def __init__(self):
        super().__init__()
        mlp = nn.Sequential(nn.Linear(FEATURES, HIDDEN), QCFS(levels=LEVELS), nn.Linear(HIDDEN, 4))
        self.conv = GINConv(mlp)
        self.lin = nn.Linear(4, CLASSES)

    def forward(self, x, edge_index):
        return self.lin(self.conv(x, edge_index))


def test_one_site_gin_with_qcfs_at_T_equal_L_equals_the_qcfs_ann(graph):
    torch.manual_seed(1)
    model = initialised(OneSiteGIN(), graph)
    snn = gsnn.convert(model, graph, method="qcfs", T=LEVELS, check=False)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


@pytest.mark.parametrize("train_eps", [False, True])
def test_gin_mlp_activations_become_neurons_and_two_phase_is_exact(graph, train_eps):
    torch.manual_seed(2)
    model = SequentialGIN(train_eps)
    if train_eps:
        with torch.no_grad():
            model.conv1.eps.fill_(0.25)
            model.conv2.eps.fill_(-0.5)
    model = initialised(model, graph)
    snn = gsnn.convert(model, graph, method="two-phase", T=LEVELS, check=False)
    assert len(snn.neurons()) == 4  # two per MLP
    assert not [m for m in snn.modules() if isinstance(m, (GINConv, nn.BatchNorm1d))]
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


def test_threshold_folds_through_the_sum_into_the_mlp(graph):
    """The second GIN sum receives the first MLP's spikes; no one-to-one synapse between."""
    torch.manual_seed(3)
    model = initialised(SequentialGIN(), graph)
    snn = gsnn.convert(model, graph, method="qcfs", T=LEVELS, check=False)
    assert not [m for m in snn.modules() if isinstance(m, gsnn.nn.OneToOneSynapse)]
    assert snn.body.get_submodule("conv2.nn.0").receives_spikes


def test_gin_aggregation_equals_the_gin_convs_sum(graph):
    conv = GINConv(nn.Identity(), eps=0.5)
    aggregation = GINAggregation.from_gin_conv(conv)
    torch.testing.assert_close(
        aggregation(graph.x, graph.edge_index), conv(graph.x, graph.edge_index)
    )


def randomise_batch_norms_(model: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                channels = module.num_features
                module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.3)
                module.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
                module.weight.copy_(torch.rand(channels, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(channels, generator=generator) * 0.3)


@pytest.mark.parametrize("act_first", [False, True])
@pytest.mark.parametrize("family", [GCN, GraphSAGE])
def test_basic_gnn_with_batch_norm_converts_one_neuron_per_call_site(graph, family, act_first):
    """norm="batch_norm" folds into the conv before it; with act_first=True it follows the
    shared activation and becomes a per-step affine map of the neuron's spikes."""
    torch.manual_seed(4)
    model = family(
        FEATURES,
        HIDDEN,
        3,
        CLASSES,
        act=QCFS(levels=LEVELS),
        act_first=act_first,
        norm="batch_norm",
    )
    model = initialised(model, graph)
    randomise_batch_norms_(model, torch.Generator().manual_seed(4))
    snn = gsnn.convert(model, graph, method="two-phase", T=LEVELS, check=False)
    assert len(snn.neurons()) == 2
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


def test_batch_norm_after_a_relu_converts_with_rate(graph):
    torch.manual_seed(5)
    model = initialised(GCN(FEATURES, HIDDEN, 2, CLASSES, act_first=True, norm="batch_norm"), graph)
    randomise_batch_norms_(model, torch.Generator().manual_seed(5))
    snn = gsnn.convert(model, graph, method="rate", T=1024, percentile=100, check=False)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=2e-2)


@pytest.mark.parametrize(
    "options",
    [{}, {"jk": "cat"}, {"norm": "batch_norm"}, {"norm": "batch_norm", "act_first": True}],
)
def test_models_gin_converts_and_two_phase_is_exact(graph, options):
    """models.GIN shares its act with every GIN MLP (it crashed with KeyError 'act')."""
    torch.manual_seed(6)
    model = initialised(
        GIN(FEATURES, HIDDEN, 2, CLASSES, act=QCFS(levels=LEVELS), **options), graph
    )
    randomise_batch_norms_(model, torch.Generator().manual_seed(6))
    snn = gsnn.convert(model, graph, method="two-phase", T=LEVELS, check=False)
    # one neuron per call site: in each MLP, and after the first conv (and the last, with jk)
    assert len(snn.neurons()) == (4 if "jk" in options else 3)
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=1e-12)


class MutagStyleGIN(nn.Module):
    """PyG's examples/mutag_gin.py for nodes: GINConv(MLP([in, h, h])) then .relu(), and an
    MLP head without norm (no global pooling: node classification)."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList()
        channels = FEATURES
        for _ in range(2):
            self.convs.append(GINConv(nn=MLP([channels, HIDDEN, HIDDEN]), train_eps=False))
            channels = HIDDEN
        self.mlp = MLP([HIDDEN, HIDDEN, CLASSES], norm=None, dropout=0.5)

    def forward(self, x, edge_index):
        for conv in self.convs:
            x = conv(x, edge_index).relu()
        return self.mlp(x)


def test_mutag_style_gin_converts_with_rate(graph):
    torch.manual_seed(7)
    model = initialised(MutagStyleGIN(), graph)
    randomise_batch_norms_(model, torch.Generator().manual_seed(7))
    snn = gsnn.convert(model, graph, method="rate", T=1024, percentile=100, check=False)
    assert len(snn.neurons()) == 5  # one in each conv's MLP, two .relu(), one in the head
    torch.testing.assert_close(run(snn, graph), run(model, graph), rtol=0, atol=5e-2)


def test_qcfs_from_relu_reaches_into_gin_mlps_one_bound_per_site(graph):
    """qcfs_from_relu traced the model as the converter does not: models.GIN crashed with
    KeyError 'act' and GINConv's MLPs kept their ReLUs."""
    torch.manual_seed(8)
    model = initialised(GIN(FEATURES, HIDDEN, 2, CLASSES, jk="cat"), graph)
    quantised = gsnn.ann.qcfs_from_relu(model, graph, levels=LEVELS)
    assert not [m for m in quantised.modules() if isinstance(m, nn.ReLU)]
    bounds = [m for m in quantised.modules() if isinstance(m, QCFS)]
    assert len({id(m) for m in bounds}) == 4  # two MLP sites and two after the convs
    snn = gsnn.convert(quantised, graph, method="two-phase", T=LEVELS, check=False)
    torch.testing.assert_close(run(snn, graph), run(quantised, graph), rtol=0, atol=1e-12)
