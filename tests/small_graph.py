"""A small random graph and helpers shared by the conversion tests of PyG-style models."""

import torch
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import erdos_renyi_graph

NODES, FEATURES, HIDDEN, CLASSES, LEVELS = 40, 6, 8, 3, 4


def small_graph(seed: int = 0) -> Data:
    """40 nodes with 6 float64 features in [0, 1), about 6 neighbours each."""
    torch.manual_seed(seed)
    x = torch.rand(NODES, FEATURES, dtype=torch.float64)
    return Data(x=x, edge_index=erdos_renyi_graph(NODES, 0.15))


def initialised(model: nn.Module, graph: Data, passes: int = 3) -> nn.Module:
    """Training-mode passes set data-based QCFS bounds and batch-norm statistics; then
    the float64 model in eval mode."""
    model.double().train()
    with torch.no_grad():
        for _ in range(passes):
            model(graph.x, graph.edge_index)
    return model.eval()


def run(model: nn.Module, graph: Data):
    """The model's output on the graph, without gradients."""
    with torch.no_grad():
        return model(graph.x, graph.edge_index)
