"""Turn a trained ReLU model into a QCFS model without retraining."""

import copy
import math
from typing import Sequence, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gsnn.ann.qcfs import QCFS


def _quantile(values: Tensor, q: float) -> float:
    """``torch.quantile`` (linear interpolation) without its limit of 2**24 elements,
    which the activations of a CNN over a few hundred calibration images exceed."""
    position = q * (values.numel() - 1)
    below, above = math.floor(position), math.ceil(position)
    low = float(values.kthvalue(below + 1).values)
    high = low if above == below else float(values.kthvalue(above + 1).values)
    return low + (position - below) * (high - low)


@torch.no_grad()
def qcfs_from_relu(
    model: nn.Module,
    data: Union[Data, Sequence[Tensor]],
    levels: int = 8,
    percentile: float = 99.0,
) -> nn.Module:
    r"""A copy of ``model`` with every ``nn.ReLU`` replaced by a calibrated :class:`QCFS`.

    Each bound :math:`\lambda` is set to the ``percentile`` of the positive
    activations its ReLU produced on ``data`` (a PyG ``Data``: all nodes'
    features and edges, no labels; or a tuple of model inputs, e.g. ``(images,)``
    for a CNN, passed in one forward call). The result is a QCFS network that
    ``method="qcfs"`` or ``"two-phase"`` converts exactly at :math:`T = L`
    (two-phase at any depth), reached from an ordinary ReLU model without
    quantisation-aware training; fine-tune it (e.g. with
    :func:`~gsnn.ann.train_node_classifier` or
    :func:`~gsnn.ann.train_image_classifier`) if its accuracy drops.

    Only ``nn.ReLU`` modules are replaced; functional ReLUs (``F.relu``) are not
    reachable as modules and raise an error.

    Args:
        model (nn.Module): trained model with ``nn.ReLU`` activation modules.
        data: calibration inputs.
        levels (int): QCFS levels :math:`L`. (default: ``8``)
        percentile (float): percentile in (0, 100] of the positive activations. (default: ``99``)
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must lie in (0, 100], got {percentile!r}.")
    quantised = copy.deepcopy(model).eval()
    relus = {name: m for name, m in quantised.named_modules() if isinstance(m, nn.ReLU)}
    if not relus:
        raise ValueError(
            "qcfs_from_relu found no nn.ReLU module to replace; models that call F.relu or "
            ".relu() must be trained with gsnn.ann.QCFS modules instead."
        )
    positives = {name: [] for name in relus}
    handles = [
        module.register_forward_hook(
            lambda _, __, out, name=name: positives[name].append(out[out > 0].flatten())
        )
        for name, module in relus.items()
    ]
    inputs = (data.x, data.edge_index) if isinstance(data, Data) else tuple(data)
    try:
        quantised(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    for name in relus:
        values = torch.cat(positives[name]) if positives[name] else torch.ones(1)
        bound = _quantile(values.double(), percentile / 100) if values.numel() else 1.0
        parent_name, _, child = name.rpartition(".")
        parent = quantised.get_submodule(parent_name) if parent_name else quantised
        setattr(parent, child, QCFS(levels=levels, init_threshold=max(bound, 1e-12)))
    return quantised
