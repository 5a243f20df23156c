"""Synaptic fan-out of a linear op, per input element, by differentiating unit-weight copies."""

from typing import Callable, Sequence

import torch
from torch import Tensor


def fanout_per_input(unit_op: Callable[[Tensor], Tensor], sample_shape: Sequence[int]) -> Tensor:
    r"""How many outputs one unit event at each input element reaches (methods.md O21).

    ``unit_op`` is the layer with every weight replaced by the indicator of a
    non-zero weight and no bias. Being linear, the gradient of the sum of its
    output with respect to its input is exactly the number of synapses leaving
    each input element, borders, strides and groups included.

    Args:
        unit_op: maps a batch :math:`(1, *\text{sample\_shape})` to outputs.
        sample_shape: shape of one input sample, e.g. :math:`(C, H, W)`.

    Shapes:
        - **output:** :math:`(*\text{sample\_shape})`
    """
    with torch.enable_grad():
        probe = torch.zeros(1, *sample_shape, dtype=torch.float64, requires_grad=True)
        unit_op(probe).sum().backward()
    return probe.grad[0]
