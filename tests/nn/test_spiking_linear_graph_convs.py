"""The PyG convolutions that are linear in their input for a fixed graph, against PyG itself.

One row per layer option in ``VARIANTS``: the spiking layer built by ``from_ann``
must equal the PyG layer at every step (float64), count its accumulates as the
unit-weight network of its computation does, and fold thresholds and batch norm.
"""

import copy
from typing import Callable, NamedTuple

import pytest
import torch
from test_spiking_layers import (
    F64,
    F_IN,
    F_OUT,
    TINY_EDGES,
    TINY_SPIKES,
    T,
    close,
    random_graph,
    random_spikes,
    randomised,
    sops,
    unit_pattern,
)
from torch_geometric.nn import (
    ChebConv,
    ClusterGCNConv,
    LEConv,
    Linear,
    MixHopConv,
    SSGConv,
    TAGConv,
)
from torch_geometric.utils import add_self_loops

from gsnn.coding import AnalogCoder
from gsnn.nn import SpikingLinear
from gsnn.nn.spiking_cheb_conv import SpikingChebConv
from gsnn.nn.spiking_cluster_gcn_conv import SpikingClusterGCNConv
from gsnn.nn.spiking_le_conv import SpikingLEConv
from gsnn.nn.spiking_mixhop_conv import SpikingMixHopConv
from gsnn.nn.spiking_ssg_conv import SpikingSSGConv
from gsnn.nn.spiking_tag_conv import SpikingTAGConv

pytestmark = pytest.mark.filterwarnings("ignore:Sparse invariant checks")


def graph_with_every_loop(seed, weighted):
    """ClusterGCNConv(add_self_loops=False) runs in PyG only with one loop per node, in order."""
    n, edge_index, edge_weight = random_graph(seed, weighted)
    edge_index, edge_weight = add_self_loops(edge_index, edge_weight, fill_value=1.0, num_nodes=n)
    return n, edge_index, edge_weight


class Variant(NamedTuple):
    name: str
    pyg: type  # built as pyg(F_IN, F_OUT, **options)
    spiking: type
    options: dict = {}
    weighted: bool = True  # takes edge weights
    graph: Callable = random_graph  # (seed, weighted) -> (n, edge_index, edge_weight)


# fmt: off
VARIANTS = [
    Variant("cluster", ClusterGCNConv, SpikingClusterGCNConv, weighted=False),
    Variant("cluster-diag", ClusterGCNConv, SpikingClusterGCNConv, {"diag_lambda": 0.7}, False),
    Variant("cluster-no-bias", ClusterGCNConv, SpikingClusterGCNConv, {"bias": False}, False),
    Variant("cluster-own-loops", ClusterGCNConv, SpikingClusterGCNConv,
            {"diag_lambda": 0.3, "add_self_loops": False}, False, graph_with_every_loop),
    Variant("tag-k1", TAGConv, SpikingTAGConv, {"K": 1}),
    Variant("tag-k3", TAGConv, SpikingTAGConv),
    Variant("tag-no-norm", TAGConv, SpikingTAGConv, {"K": 2, "normalize": False}),
    Variant("tag-no-bias", TAGConv, SpikingTAGConv, {"K": 2, "bias": False}),
    Variant("cheb-k1", ChebConv, SpikingChebConv, {"K": 1}),
    Variant("cheb-k2-sym", ChebConv, SpikingChebConv, {"K": 2}),
    Variant("cheb-k4-sym", ChebConv, SpikingChebConv, {"K": 4}),
    Variant("cheb-k3-rw", ChebConv, SpikingChebConv, {"K": 3, "normalization": "rw"}),
    Variant("cheb-k3-none", ChebConv, SpikingChebConv, {"K": 3, "normalization": None}),
    Variant("cheb-no-bias", ChebConv, SpikingChebConv, {"K": 3, "bias": False}),
    Variant("ssg-k1", SSGConv, SpikingSSGConv, {"alpha": 0.1}),
    Variant("ssg-k3", SSGConv, SpikingSSGConv, {"alpha": 0.3, "K": 3}),
    Variant("ssg-no-loops", SSGConv, SpikingSSGConv,
            {"alpha": 0.2, "K": 2, "add_self_loops": False}),
    Variant("ssg-cached-no-bias", SSGConv, SpikingSSGConv,
            {"alpha": 0.1, "K": 2, "cached": True, "bias": False}),
    Variant("mixhop", MixHopConv, SpikingMixHopConv),
    Variant("mixhop-unsorted", MixHopConv, SpikingMixHopConv, {"powers": [2, 0, 3]}),
    Variant("mixhop-no-loops-no-bias", MixHopConv, SpikingMixHopConv,
            {"powers": [1, 2], "add_self_loops": False, "bias": False}),
    Variant("le", LEConv, SpikingLEConv),
    Variant("le-no-bias", LEConv, SpikingLEConv, {"bias": False}),
]
# fmt: on
IDS = [variant.name for variant in VARIANTS]


def build(variant, seed):
    torch.manual_seed(seed)
    pyg = randomised(variant.pyg(F_IN, F_OUT, **variant.options).double(), seed)
    layer = variant.spiking.from_ann(pyg)
    if hasattr(pyg, "cached"):  # PyG's cache holds propagated features, stale after step 0
        pyg.cached = False
    return pyg, layer


def graphs(variant):
    """(seed, n, edge_index, edge_weight) a variant is checked on; weighted if it takes weights."""
    cases = [(10, False), (11, False), (12, False)]
    cases += [(13, True), (14, True)] if variant.weighted else []
    return [(seed,) + variant.graph(seed, weighted) for seed, weighted in cases]


def call(module, x, edge_index, edge_weight, **options):
    if edge_weight is None:
        return module(x, edge_index, **options)
    return module(x, edge_index, edge_weight, **options)


def out_channels(pyg):
    """Output width: MixHopConv concatenates one block per power."""
    return len(getattr(pyg, "powers", [0])) * F_OUT


# --------------------------------------------------------------- against PyG, every step
@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_matches_pyg_at_every_step(variant):
    for seed, n, edge_index, edge_weight in graphs(variant):
        pyg, layer = build(variant, seed)
        spikes = random_spikes(seed, T, n, F_IN)
        out = call(layer, spikes, edge_index, edge_weight)
        assert out.shape == (T, n, out_channels(pyg)) and out.dtype == F64
        for t in range(T):
            close(out[t], call(pyg, spikes[t], edge_index, edge_weight))
        # time averaging commutes with the layer; a second call (cached adjacency) is the same
        close(out.mean(0), call(pyg, spikes.mean(0), edge_index, edge_weight))
        close(call(layer, spikes, edge_index, edge_weight), out)


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_time_constant_input_is_computed_once_and_equals_pyg(variant):
    _, n, edge_index, edge_weight = graphs(variant)[-1]
    pyg, layer = build(variant, 50)
    features = torch.randn(n, F_IN, generator=torch.Generator().manual_seed(51), dtype=F64)
    analog = AnalogCoder()(features, T)
    out = call(layer, analog, edge_index, edge_weight)
    assert out.stride(0) == 0
    close(out[0], call(pyg, features, edge_index, edge_weight))


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_from_ann_copies_every_weight(variant):
    pyg, layer = build(variant, 3)
    assert {p.dtype for p in layer.parameters()} == {F64}

    def flat(module):
        return torch.sort(torch.cat([p.detach().flatten() for p in module.parameters()]))[0]

    assert torch.equal(flat(pyg), flat(layer))


@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_repr_is_pygs_with_the_spiking_prefix(variant):
    pyg, layer = build(variant, 4)
    assert repr(layer) == f"Spiking{pyg!r}"


# ------------------------------------------------------- threshold and batch-norm folding
@pytest.mark.parametrize("variant", VARIANTS, ids=IDS)
def test_scale_inputs_and_fold_output_affine(variant):
    _, n, edge_index, edge_weight = graphs(variant)[-1]
    pyg, layer = build(variant, 60)
    spikes = random_spikes(60, T, n, F_IN)
    g = torch.Generator().manual_seed(61)
    gain = 0.25 + torch.rand(F_IN, generator=g, dtype=F64)
    scale = torch.randn(out_channels(pyg), generator=g, dtype=F64)
    shift = torch.randn(out_channels(pyg), generator=g, dtype=F64)
    scaled, folded = copy.deepcopy(layer), copy.deepcopy(layer)

    scaled.scale_inputs_(gain)
    folded.fold_output_affine_(scale, shift)
    out_scaled = call(scaled, spikes, edge_index, edge_weight)
    out_folded = call(folded, spikes, edge_index, edge_weight)
    for t in range(T):
        close(out_scaled[t], call(pyg, spikes[t] * gain, edge_index, edge_weight))
        close(out_folded[t], call(pyg, spikes[t], edge_index, edge_weight) * scale + shift)
    assert all(p.dtype == F64 for p in folded.parameters())


# ------------------------------------------------------------------- option refusals
REFUSED_AGGREGATIONS = [
    (lambda: ClusterGCNConv(F_IN, F_OUT, aggr="mean"), SpikingClusterGCNConv),
    (lambda: TAGConv(F_IN, F_OUT, aggr="mean"), SpikingTAGConv),
    (lambda: ChebConv(F_IN, F_OUT, K=2, aggr="max"), SpikingChebConv),
    (lambda: SSGConv(F_IN, F_OUT, alpha=0.1, aggr="mean"), SpikingSSGConv),
    (lambda: MixHopConv(F_IN, F_OUT, aggr="mean"), SpikingMixHopConv),
    (lambda: LEConv(F_IN, F_OUT, aggr="max"), SpikingLEConv),
]


@pytest.mark.parametrize("pyg, spiking", REFUSED_AGGREGATIONS)
def test_another_aggregation_is_refused_by_name(pyg, spiking):
    conv = pyg()
    with pytest.raises(ValueError, match=rf"{type(conv).__name__} with aggr='(mean|max)'.*'add'"):
        spiking.from_ann(conv)


def test_another_flow_is_refused_by_name():
    with pytest.raises(ValueError, match="TAGConv with flow='target_to_source'"):
        SpikingTAGConv.from_ann(TAGConv(F_IN, F_OUT, flow="target_to_source"))


def test_bipartite_le_conv_is_refused():
    with pytest.raises(ValueError, match="bipartite"):
        SpikingLEConv.from_ann(LEConv((F_IN, 3), F_OUT))


def test_cheb_lambda_max_number_and_per_graph_match_pyg():
    n, edge_index, edge_weight = random_graph(80, weighted=True)
    batch = (torch.arange(n) >= n // 2).long()  # two "graphs" (edges may cross: PyG allows it)
    pyg, layer = build(VARIANTS[IDS.index("cheb-k4-sym")], 80)
    spikes = random_spikes(80, T, n, F_IN)
    for options in (
        {"lambda_max": 1.5},
        {"lambda_max": torch.tensor([1.2, 1.9], dtype=F64), "batch": batch},
    ):
        out = call(layer, spikes, edge_index, edge_weight, **options)
        for t in range(T):
            close(out[t], call(pyg, spikes[t], edge_index, edge_weight, **options))
    with pytest.raises(ValueError, match="one per graph.*pass batch"):
        layer(spikes, edge_index, lambda_max=torch.tensor([1.2, 1.9]))


def cheb_pattern(n, edge_index, normalization):
    """The pattern of PyG's own scaled Laplacian (ChebConv.__norm__), zero entries dropped."""
    conv = ChebConv(F_IN, F_OUT, K=2, normalization=normalization)
    index, weight = conv.__norm__(edge_index, n, None, normalization, dtype=F64)
    dense = torch.zeros(n, n, dtype=F64).index_put_((index[1], index[0]), weight, accumulate=True)
    return (dense != 0).to(F64)


def test_cheb_sym_drops_the_zero_diagonal():
    """At lambda_max = 2 the diagonal of 2 L / lambda_max - I is zero: not stored, not counted."""
    n, edge_index, _ = random_graph(81, weighted=False, self_loops=True)
    layer = SpikingChebConv(F_IN, F_OUT, K=2).double()
    operator = layer.scaled_laplacian(random_spikes(81, T, n, F_IN), edge_index, None, None, None)
    dense = operator.matrix.to_dense()
    assert torch.equal(dense.diagonal(), torch.zeros(n, dtype=F64))
    assert operator.num_entries == int((dense != 0).sum())
    assert torch.equal((dense != 0).to(F64), cheb_pattern(n, edge_index, "sym"))


# --------------------------------------------------------- accumulates per unit event
def paths(pattern, hops):
    """Row vectors: walks of the unit network leaving each node after ``0..hops`` hops."""
    rows = [torch.ones(1, pattern.shape[0], dtype=F64)]
    for _ in range(hops):
        rows.append(rows[-1] @ pattern)
    return torch.cat(rows)


def chebyshev_paths(pattern, hops):
    """Row vectors: paths through the unit recurrence c_k = c_{k-1} P + c_{k-2}."""
    rows = [torch.ones(1, pattern.shape[0], dtype=F64)]
    for hop in range(1, hops + 1):
        rows.append(rows[-1] @ pattern + (rows[-2] if hop > 1 else 0))
    return torch.cat(rows)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("cluster", lambda n, e: unit_pattern(n, e, True).sum(0) + 1),
        ("tag-k3", lambda n, e: paths(unit_pattern(n, e, False), 3).sum(0)),
        ("cheb-k4-sym", lambda n, e: chebyshev_paths(cheb_pattern(n, e, "sym"), 3).sum(0)),
        ("cheb-k3-none", lambda n, e: chebyshev_paths(cheb_pattern(n, e, None), 2).sum(0)),
        ("ssg-k3", lambda n, e: paths(unit_pattern(n, e, True), 3).sum(0)),
        ("mixhop-unsorted", lambda n, e: paths(unit_pattern(n, e, True), 3)[[2, 0, 3]].sum(0)),
        ("le", lambda n, e: unit_pattern(n, e, False).sum(0) + 2),
    ],
)
def test_fanout_counts_the_paths_of_the_unit_weight_network(name, expected):
    variant = VARIANTS[IDS.index(name)]
    for seed, self_loops in ((70, False), (71, True)):
        n, edge_index, _ = random_graph(seed, weighted=False, self_loops=self_loops)
        _, layer = build(variant, seed)
        spikes = torch.randint(-1, 2, (T, n, F_IN), generator=torch.Generator().manual_seed(seed))
        spikes = spikes.to(F64)  # signed spikes count by magnitude
        reference = (spikes.abs().sum((0, 2)) * expected(n, edge_index) * F_OUT).sum().item()
        assert sops(layer, spikes, edge_index) == reference


# tiny graph: 4 nodes, 5 edges without loops; F_in = 2, F_out = 3 (n, fi, fo, nnz below)
DENSE_MACS = [
    (lambda: SpikingClusterGCNConv(2, 3), (5 + 4) * 2 + 2 * 4 * 2 * 3),
    (lambda: SpikingTAGConv(2, 3, K=2), 2 * 5 * 2 + 3 * 4 * 2 * 3),
    (lambda: SpikingChebConv(2, 3, K=3), 2 * 5 * 2 + 4 * 2 + 3 * 4 * 2 * 3),  # no zero diagonal
    (lambda: SpikingSSGConv(2, 3, alpha=0.1, K=2), 2 * (5 + 4) * 2 + 3 * 4 * 2 + 4 * 2 * 3),
    (lambda: SpikingMixHopConv(2, 3, powers=[0, 2]), 2 * (5 + 4) * 2 + 2 * 4 * 2 * 3),
    (lambda: SpikingLEConv(2, 3), 3 * 4 * 2 * 3 + 5 * 3),
]


@pytest.mark.parametrize("layer, expected", DENSE_MACS)
def test_dense_macs_hand_count(layer, expected):
    assert layer().double().dense_macs(TINY_SPIKES, TINY_EDGES) == expected


# ------------------------------------------------------------- torch_geometric.nn.Linear
def test_pyg_linear_becomes_a_spiking_linear_with_its_weights():
    torch.manual_seed(5)
    linear = randomised(Linear(F_IN, F_OUT).double(), 5)
    layer = SpikingLinear.from_ann(linear)
    spikes = random_spikes(5, T, 9, F_IN)
    out = layer(spikes)
    for t in range(T):
        close(out[t], linear(spikes[t]))
    no_bias = SpikingLinear.from_ann(Linear(F_IN, F_OUT, bias=False))
    assert no_bias.bias is None
    # torch's Linear too keeps float64 weights unrounded
    torch_linear = randomised(torch.nn.Linear(F_IN, F_OUT).double(), 6)
    assert torch.equal(SpikingLinear.from_ann(torch_linear).weight, torch_linear.weight)


def test_lazy_pyg_linear_is_refused_until_it_has_seen_an_input():
    lazy = Linear(-1, F_OUT)
    with pytest.raises(ValueError, match=r"Linear\(-1, 4\) is lazy.*run the model once"):
        SpikingLinear.from_ann(lazy)
    lazy(torch.rand(3, F_IN))
    assert SpikingLinear.from_ann(lazy).in_features == F_IN


def test_sgconv_with_another_aggregation_is_refused():
    from torch_geometric.nn import SGConv

    from gsnn.nn import SpikingSGConv

    with pytest.raises(ValueError, match="aggr='mean' is not supported"):
        SpikingSGConv.from_ann(SGConv(4, 3, K=2, aggr="mean"))
