"""The memory estimate of a call (measured per op) and the chunks and node blocks planned
from it for a budget."""

import math

import pytest
import torch
from small_graph import CLASSES, FEATURES, HIDDEN, LEVELS, NODES, initialised, run, small_graph
from torch_geometric.data import Data

import gsnn
from gsnn.ann import GCN, GraphSAGE
from gsnn.convert.memory_plan import LiveBytes

T = 8


@pytest.fixture(scope="module")
def graph() -> Data:
    return small_graph()


def converted(graph, model_class=GCN, cached=True, coding="analog", T=T):
    torch.manual_seed(0)
    model = model_class(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=LEVELS)
    model = initialised(model, graph)
    for module in model.modules():
        if hasattr(module, "cached"):
            module.cached = cached
    return gsnn.convert(model, graph, method="qcfs", T=T, coding=coding)


def tracked_peak(snn, graph) -> int:
    """The peak bytes allocated by a call after a first one (whose states it replaces)."""
    run(snn, graph)
    with torch.no_grad(), LiveBytes() as live:
        snn(graph.x, graph.edge_index)
    return max(level for level, _ in live.events)


def test_live_bytes_counts_each_storage_from_allocation_to_its_last_view():
    before = torch.ones(3)
    with LiveBytes() as live:
        a = torch.ones(10)  # 40 bytes
        view = a.view(2, 5)  # a view: nothing new
        b = a * 2  # 40 more
        a.add_(1)  # in place: nothing new
        tail = before[1:]  # a view of memory allocated before: not counted
        del a  # the view keeps the storage alive
        c = torch.ones(5)  # 20 more: 100
        del view  # the storage of a dies: 60
        d = before + 0  # 12 more: 72
    assert [level for level, _ in live.events] == [40, 80, 100, 72]
    assert live.live == 72
    del b, c, d, tail
    assert live.live == 0


SETTINGS = [(None, None), (4, None), (3, None), (1, None), (4, 7), (2, 39)]


@pytest.mark.parametrize("model_class", [GCN, GraphSAGE])
@pytest.mark.parametrize("cached", [True, False])
def test_estimate_equals_the_allocations_of_real_calls(graph, model_class, cached):
    snn = converted(graph, model_class, cached)
    snn.record_stats = False
    estimate = snn.memory_estimate(graph.x, graph.edge_index)
    for chunk, rows in SETTINGS:
        snn.steps_per_chunk, snn.nodes_per_block = chunk, rows
        assert estimate.peak_bytes(chunk, rows) == tracked_peak(snn, graph), (chunk, rows)


@pytest.mark.parametrize("coding,record_stats", [("analog", True), ("deterministic", False)])
def test_estimate_bounds_the_allocations_of_calls_with_statistics_or_a_coder_state(
    graph, coding, record_stats
):
    # a one pass frees the input code and the coder's state after the first layer, the
    # probes keep them as chunks do; per-step statistics grow by a few bytes per chunk
    snn = converted(graph, coding=coding)
    snn.record_stats = record_stats  # the statistics hooks allocate too: probed alike
    estimate = snn.memory_estimate(graph.x, graph.edge_index)
    for chunk, rows in SETTINGS:
        snn.steps_per_chunk, snn.nodes_per_block = chunk, rows
        peak = tracked_peak(snn, graph)
        assert 0.99 * peak <= estimate.peak_bytes(chunk, rows) <= 1.1 * peak, (chunk, rows)


def test_estimate_grows_with_steps_and_block_rows(graph):
    snn = converted(graph)
    snn.record_stats = False  # so that propagation, not the statistics, makes the peaks
    estimate = snn.memory_estimate(graph.x, graph.edge_index)
    one_pass = estimate.peak_bytes()
    assert estimate.peak_bytes(1) <= estimate.peak_bytes(4) < one_pass
    assert estimate.layer_bytes(1)["convs_1"] < estimate.layer_bytes(2)["convs_1"]
    assert estimate.peak_bytes(4, 1) <= estimate.peak_bytes(4, 20) <= estimate.peak_bytes(4, 39)
    # blocks drop the propagation's [N, c * F] copy
    assert estimate.layer_bytes(4, 39)["convs_1"] < estimate.layer_bytes(4)["convs_1"]
    layers = estimate.layer_bytes()
    assert list(layers) == [n.name for n in snn.body.graph.nodes if n.op.startswith("call_")]
    assert max(layers.values()) <= one_pass


def test_plan_takes_the_fewest_even_chunks_then_the_largest_blocks(graph):
    snn = converted(graph, T=16)
    estimate = snn.memory_estimate(graph.x, graph.edge_index)
    low, high = estimate.peak_bytes(1), estimate.peak_bytes()
    kinds = set()
    for budget in torch.linspace(low, high * 1.01, 40).long().tolist():
        plan = estimate.plan(budget, headroom=1)
        chunk, rows = plan.steps_per_chunk or 16, plan.nodes_per_block
        chunks = math.ceil(16 / chunk)
        assert chunk == math.ceil(16 / chunks)  # as even as that many chunks go
        assert plan.estimated_bytes == estimate.peak_bytes(chunk, rows) <= budget
        assert plan.layers == estimate.layer_bytes(chunk, rows)
        for fewer in range(1, chunks):  # no plan with fewer chunks fits, blocked or not
            wider = math.ceil(16 / fewer)
            assert estimate.peak_bytes(wider) > budget
            assert estimate.peak_bytes(wider, 1) > budget
        if rows is not None:  # blocks only where all nodes do not fit; the largest that fit
            assert estimate.peak_bytes(chunk) > budget and chunk > 1
            assert rows == NODES - 1 or estimate.peak_bytes(chunk, rows + 1) > budget
        kinds.add((chunks == 1, rows is not None))
    assert {one_pass for one_pass, _ in kinds} == {True, False}
    assert {blocked for _, blocked in kinds} == {True, False}


def test_plan_chunks_sets_the_plan_and_keeps_the_outputs(graph):
    snn = converted(graph, T=16)
    whole = run(snn, graph)
    estimate = snn.memory_estimate(graph.x, graph.edge_index)
    assert snn.plan_chunks(estimate.peak_bytes() * 1.5, graph.x, graph.edge_index) == 16
    assert snn.steps_per_chunk is None and snn.nodes_per_block is None
    budget = estimate.peak_bytes(4, 20)
    plan = estimate.plan(budget, headroom=1)
    steps = snn.plan_chunks(budget, graph.x, graph.edge_index, headroom=1)
    assert (snn.steps_per_chunk, snn.nodes_per_block) == (
        plan.steps_per_chunk,
        plan.nodes_per_block,
    )
    assert steps == plan.steps_per_chunk < 16
    assert torch.equal(run(snn, graph), whole)


def test_a_budget_no_plan_fits_names_the_smallest_that_does(graph):
    snn = converted(graph)
    smallest = math.ceil(1.5 * snn.memory_estimate(graph.x, graph.edge_index).peak_bytes(1))
    with pytest.raises(ValueError, match=f"{smallest:,} bytes .*raise memory_bytes to at least"):
        snn.plan_chunks(smallest - 1, graph.x, graph.edge_index)
    assert snn.plan_chunks(smallest, graph.x, graph.edge_index) == 1
    with pytest.raises(ValueError, match="headroom must be >= 1"):
        snn.plan_chunks(smallest, graph.x, graph.edge_index, headroom=0.5)


def test_windowed_methods_have_no_memory_estimate(graph):
    torch.manual_seed(0)
    model = initialised(GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=4), graph)
    snn = gsnn.convert(model, graph, method="one-spike", T=4)
    with pytest.raises(ValueError, match="Only online methods"):
        snn.memory_estimate(graph.x, graph.edge_index)
