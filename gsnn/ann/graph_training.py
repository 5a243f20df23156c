"""Training and evaluating graph classifiers on loaders of PyG ``Batch`` objects."""

from typing import Iterable, Optional

import torch
import torch.nn.functional as F
from torch import nn


def train_graph_classifier(
    model: nn.Module,
    loader: Iterable,
    epochs: int = 100,
    lr: float = 0.01,
    halve_lr_every: Optional[int] = None,
) -> nn.Module:
    """Train ``model(x, edge_index, batch)`` with Adam and cross-entropy for ``epochs`` epochs
    over ``loader`` (a ``torch_geometric.loader.DataLoader``); return it in eval mode.

    Trainable activation bounds (QCFS's :math:`\\lambda`) get no weight decay, the
    other parameters 5e-4. ``halve_lr_every=50`` halves the learning rate every 50
    epochs, the GIN paper's schedule (Xu et al., ICLR 2019); ``None`` keeps it constant.
    """
    bounds = [p for name, p in model.named_parameters() if name.endswith("threshold")]
    others = [p for name, p in model.named_parameters() if not name.endswith("threshold")]
    optimizer = torch.optim.Adam(
        [{"params": others, "weight_decay": 5e-4}, {"params": bounds, "weight_decay": 0.0}],
        lr=lr,
    )
    step = halve_lr_every or epochs + 1
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step, gamma=0.5)
    for _ in range(epochs):
        model.train()
        for batch in loader:
            optimizer.zero_grad()
            logits = model(batch.x, batch.edge_index, batch.batch)
            F.cross_entropy(logits, batch.y).backward()
            optimizer.step()
        schedule.step()
    return model.eval()


@torch.no_grad()
def graph_accuracy(model: nn.Module, loader: Iterable) -> float:
    """Fraction of graphs in ``loader`` whose argmax of ``model(x, edge_index, batch)`` is
    their label (``model`` may be an ANN or a converted SNN)."""
    correct = total = 0
    for batch in loader:
        prediction = model(batch.x, batch.edge_index, batch.batch).argmax(-1)
        correct += int((prediction == batch.y).sum())
        total += batch.num_graphs
    return correct / total
