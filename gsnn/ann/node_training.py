"""Full-batch training of node classifiers on a PyG ``Data`` object."""

import copy
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from tqdm import tqdm


@torch.no_grad()
def node_accuracy(model: nn.Module, data: Data, mask: Optional[torch.Tensor] = None) -> float:
    """Accuracy (in [0, 1]) of ``model(data.x, data.edge_index)`` on ``mask`` (default: test)."""
    mask = data.test_mask if mask is None else mask
    model.eval()
    prediction = model(data.x, data.edge_index).argmax(dim=-1)
    return float((prediction[mask] == data.y[mask]).float().mean())


def train_node_classifier(
    model: nn.Module,
    data: Data,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    progress: bool = False,
) -> nn.Module:
    """Train with Adam and cross-entropy on ``data.train_mask``; keep the best validation state.

    Trainable activation bounds (QCFS's :math:`\\lambda`) get no weight decay.

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
    best_accuracy, best_state = -1.0, copy.deepcopy(model.state_dict())
    for _ in tqdm(range(epochs), desc="train", disable=not progress, leave=False):
        model.train()
        optimizer.zero_grad()
        logits = model(data.x, data.edge_index)
        loss = F.cross_entropy(logits[data.train_mask], data.y[data.train_mask])
        loss.backward()
        optimizer.step()
        accuracy = node_accuracy(model, data, data.val_mask)
        if accuracy > best_accuracy:
            best_accuracy, best_state = accuracy, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model.eval()
