"""Inference over a node partition (design §5): two gloo ranks give one process's logits."""

import socket
from unittest import mock

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from small_graph import CLASSES, FEATURES, HIDDEN, initialised, small_graph
from torch import nn
from torch_geometric.nn import SGConv

import gsnn
from gsnn.ann import GCN, GraphSAGE
from gsnn.distributed import (
    DistributedSpikingNetwork,
    NodePartition,
    check_partitionable,
    pack_spikes,
    run_ranks,
    unpack_spikes,
    world_size_of,
)
from gsnn.nn import GraphAdjacency

T = 8
BLOCKED = GraphAdjacency._propagate_in_blocks  # spied on by the ranks
# every other node on rank 0: blocks that are not contiguous in the node ids
INTERLEAVED = NodePartition(
    torch.tensor([0, 20, 40]), torch.cat([torch.arange(0, 40, 2), torch.arange(1, 40, 2)])
)
# (name, model, method, options, network settings, partition; None: the default)
CASES = [
    (
        "gcn-qcfs",
        lambda: GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=4),
        "qcfs",
        {},
        {},
        None,
    ),
    (
        "sage-rate-chunked",
        lambda: GraphSAGE(FEATURES, HIDDEN, CLASSES),
        "rate",
        {},
        {"steps_per_chunk": 3},
        NodePartition(torch.tensor([0, 13, 40])),
    ),
    (
        "sage-interleaved",
        lambda: GraphSAGE(FEATURES, HIDDEN, CLASSES),
        "rate",
        {},
        {},
        INTERLEAVED,
    ),
    (
        "gcn-one-spike",
        lambda: GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=4),
        "one-spike",
        {},
        {},
        None,
    ),
    (
        "gcn-qcfs-node-blocks",
        lambda: GCN(FEATURES, HIDDEN, CLASSES, activation="qcfs", qcfs_levels=4),
        "qcfs",
        {},
        {"nodes_per_block": 7, "steps_per_chunk": 3},
        INTERLEAVED,
    ),
]


def converted(case, settings=True):
    """The case's network and graph; ``settings=False`` leaves out its chunks and blocks."""
    _, make, method, options, chosen, _ = case
    graph = small_graph()
    torch.manual_seed(0)
    model = initialised(make(), graph)
    snn = gsnn.convert(model, graph, method=method, T=T, **options)
    for name, value in chosen.items() if settings else ():
        setattr(snn, name, value)
    return snn, graph


def rank_main(rank, world_size, store, results):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    try:
        out = {}
        for case in CASES:
            snn, graph = converted(case)
            ranks = DistributedSpikingNetwork(
                snn, graph.edge_index, graph.num_nodes, partition=case[5]
            )
            with mock.patch.object(
                GraphAdjacency, "_propagate_in_blocks", autospec=True, side_effect=BLOCKED
            ) as blocked:
                logits = ranks(graph.x[ranks.nodes])
            gathered = ranks.partition.gather(logits)
            out[case[0]] = (gathered, ranks.halo_bytes, ranks.halo_nodes(), blocked.call_count)
        torch.save(out, f"{results}.{rank}")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranks")
    # fork: the ranks inherit the loaded modules instead of importing them again
    mp.start_processes(
        rank_main,
        args=(2, str(folder / "store"), str(folder / "out")),
        nprocs=2,
        start_method="fork",
    )
    return [torch.load(f"{folder / 'out'}.{rank}") for rank in range(2)]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_two_ranks_give_the_single_process_logits_bitwise(two_ranks, case):
    # against one process in one pass, without chunks of steps or node blocks
    snn, graph = converted(case, settings=False)
    with torch.no_grad():
        expected = snn(graph.x, graph.edge_index)
    for rank in range(2):
        logits, halo_bytes, halo_nodes, blocked_calls = two_ranks[rank][case[0]]
        assert torch.equal(logits, expected)
        assert set(halo_bytes) == {"convs.0", "convs.1"}
        assert all(nodes > 0 for nodes in halo_nodes.values())
        # the ranks aggregate in row blocks exactly when nodes_per_block is set
        assert (blocked_calls > 0) == ("nodes_per_block" in case[4])


def test_halo_traffic_is_packed_for_binary_spikes(two_ranks):
    # layer 1 gets the analog input once (float64, 6 features); layer 2 binary spikes of
    # T steps, 8 to a byte: HIDDEN * T / 8 bytes per halo row sent
    _, halo_bytes, _, _ = two_ranks[0]["gcn-qcfs"]
    sent_rows_1 = halo_bytes["convs.0"] // (FEATURES * 8)
    assert halo_bytes["convs.0"] == sent_rows_1 * FEATURES * 8
    assert halo_bytes["convs.1"] == sent_rows_1 * HIDDEN * T // 8


def test_spike_packing_round_trips():
    spikes = (torch.rand(5, 19) < 0.4).double()
    packed = pack_spikes(spikes)
    assert packed.shape == (5, 3) and packed.dtype == torch.uint8
    assert torch.equal(unpack_spikes(packed, 19, torch.float64), spikes)
    assert int(pack_spikes(torch.tensor([[1.0, 0, 1, 0, 0, 0, 0, 0, 1]]))[0, 0]) == 5


def test_contiguous_partition_and_owners():
    partition = NodePartition.contiguous(10, 3)
    assert partition.bounds.tolist() == [0, 4, 7, 10]
    assert partition.owners(torch.tensor([0, 3, 4, 9])).tolist() == [0, 0, 1, 2]
    with pytest.raises(ValueError, match="every rank needs at least one node"):
        NodePartition.contiguous(2, 3)


def test_rcm_partition_cuts_a_shuffled_path_once():
    # a path of 12 nodes under shuffled ids: the best 2-way cut leaves one halo node per rank
    ids = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    edge_index = torch.stack([ids[:-1], ids[1:]])
    partition = NodePartition.balanced(edge_index, 12, 2)
    owner = partition.owners(ids)
    assert owner.tolist() == [int(owner[0])] * 6 + [1 - int(owner[0])] * 6
    for rank in range(2):
        assert torch.equal(partition.nodes(rank), torch.sort(ids[owner == rank]).values)
    assert NodePartition.balanced(edge_index, 12, 2, order="given").order is None
    with pytest.raises(ValueError, match="Unknown node order 'metis'"):
        NodePartition.balanced(edge_index, 12, 2, order="metis")


def test_partition_orders_are_checked():
    with pytest.raises(ValueError, match="every node id exactly once"):
        NodePartition(torch.tensor([0, 2, 4]), torch.tensor([0, 1, 1, 3]))
    with pytest.raises(ValueError, match="each rank's nodes in ascending order"):
        NodePartition(torch.tensor([0, 2, 4]), torch.tensor([1, 0, 2, 3]))


class SGModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = SGConv(FEATURES, CLASSES, K=2)

    def forward(self, x, edge_index):
        return self.conv(x, edge_index)


def test_multi_hop_layers_are_refused_by_name():
    graph = small_graph()
    snn = gsnn.convert(SGModel().double(), graph, method="rate", T=T)
    with pytest.raises(ValueError, match=r"conv \(SpikingSGConv: it propagates more than one"):
        check_partitionable(snn)


def test_random_input_codes_are_refused():
    graph = small_graph()
    model = initialised(GCN(FEATURES, HIDDEN, CLASSES), graph)
    snn = gsnn.convert(model, graph, method="rate", T=T, coding="bernoulli")
    with pytest.raises(ValueError, match="BernoulliRateCoder"):
        check_partitionable(snn)


def test_a_torchrun_launch_sets_the_world_size(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert world_size_of(None) == 3 and world_size_of(3) == 3
    with pytest.raises(ValueError, match="torchrun launched 3; ask for 3 or launch with"):
        world_size_of(2)
    monkeypatch.delenv("RANK")  # not a torchrun rank: fork the ranks asked for
    assert world_size_of(None) == 2 and world_size_of(4) == 4
    with pytest.raises(ValueError, match="at least 1 rank"):
        world_size_of(0)


def test_run_ranks_joins_a_torchrun_launch_as_its_rank(monkeypatch):
    # a launch of one rank, as torchrun would start it: the environment names the group
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    assert run_ranks(lambda: (dist.get_rank(), dist.get_world_size())) == (0, 1)
    assert not dist.is_initialized()  # the group it joined is closed again
