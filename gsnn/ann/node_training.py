"""Full-batch training of node classifiers on a PyG ``Data`` object."""

import copy
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import to_torch_csr_tensor
from tqdm import tqdm


@torch.no_grad()
def node_accuracy(
    model: nn.Module,
    data: Data,
    mask: Optional[torch.Tensor] = None,
    adjacency: Optional[torch.Tensor] = None,
) -> float:
    """Accuracy (in [0, 1]) of ``model(data.x, adjacency)`` on ``mask`` (default: test).

    ``adjacency`` defaults to ``data.edge_index``; see :func:`train_node_classifier`.
    """
    mask = data.test_mask if mask is None else mask
    adjacency = data.edge_index if adjacency is None else adjacency
    model.eval()
    prediction = model(data.x, adjacency).argmax(dim=-1)
    return float((prediction[mask] == data.y[mask]).float().mean())


def train_node_classifier(
    model: nn.Module,
    data: Data,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    progress: bool = False,
    adjacency: Optional[torch.Tensor] = None,
) -> nn.Module:
    """Train with Adam and cross-entropy on ``data.train_mask``; keep the best validation state.

    Trainable activation bounds (QCFS's :math:`\\lambda`) get no weight decay.

    ``adjacency`` is the graph argument the model is called with (default:
    ``data.edge_index``). A transposed sparse adjacency of the same edges
    (:func:`transposed_csr_adjacency`) computes the same function through PyG's ``spmm``
    path instead of one gathered message per edge: for wide inputs, such as GraphSAGE's
    first layer on Amazon Computers, about 6x faster here, and equal up to float rounding
    (the backward sums in another order, so the trained weights differ in their last bits).

    Returns:
        the model, in eval mode, loaded with the parameters of the epoch with
        the best validation accuracy.
    """
    bounds = [p for name, p in model.named_parameters() if name.endswith("threshold")]
    others = [p for name, p in model.named_parameters() if not name.endswith("threshold")]
    optimizer = torch.optim.Adam(
        [{"params": others, "weight_decay": weight_decay}, {"params": bounds, "weight_decay": 0.0}],
        lr=lr,
    )
    adjacency = data.edge_index if adjacency is None else adjacency
    best_accuracy, best_state = -1.0, copy.deepcopy(model.state_dict())
    for _ in tqdm(range(epochs), desc="train", disable=not progress, leave=False):
        model.train()
        optimizer.zero_grad()
        logits = model(data.x, adjacency)
        loss = F.cross_entropy(logits[data.train_mask], data.y[data.train_mask])
        loss.backward()
        optimizer.step()
        accuracy = node_accuracy(model, data, data.val_mask, adjacency)
        if accuracy > best_accuracy:
            best_accuracy, best_state = accuracy, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model.eval()


def transposed_csr_adjacency(data: Data) -> torch.Tensor:
    """``data``'s edges as a ``torch.sparse_csr`` adjacency with a row per target node.

    Entry :math:`(i, j)` is 1 for an edge :math:`j \\to i` (PyG's ``adj_t``), so
    ``model(data.x, transposed_csr_adjacency(data))`` aggregates like
    ``model(data.x, data.edge_index)``. Its values take ``data.x``'s dtype (float32 without
    features), which PyG's ``spmm`` requires. PyG's
    ``ToSparseTensor(layout=torch.sparse_csr)`` builds the same ``adj_t`` with float32 values,
    but sorts ``data``'s edges in place and drops ``edge_index``, which the SNN still reads.

    Shapes:
        - **output:** :math:`(N, N)` with :math:`E` stored entries
    """
    n = data.num_nodes
    dtype = data.x.dtype if data.x is not None else torch.float32
    ones = torch.ones(data.edge_index.size(1), dtype=dtype)
    return to_torch_csr_tensor(data.edge_index.flip(0), ones, size=(n, n))
