"""The spike-times-weight product that skips rows without spikes."""

from torch import Tensor


def matmul_skipping_silent_rows(x: Tensor, weight: Tensor) -> Tensor:
    r"""Compute ``x @ weight.T`` touching only the rows of ``x`` that hold a non-zero.

    A row is one neuron group (one node at one step); when it emitted no spike
    it contributes nothing, so no work is spent on it.

    Args:
        x (Tensor): inputs :math:`(R, F_{in})`, typically spike counts.
        weight (Tensor): weights :math:`(F_{out}, F_{in})`.

    Shapes:
        - **output:** :math:`(R, F_{out})`
    """
    active = x.any(dim=1)
    num_active = int(active.sum())
    if num_active == x.shape[0]:
        return x @ weight.T
    out = x.new_zeros(x.shape[0], weight.shape[0])
    if num_active:
        rows = active.nonzero().squeeze(1)
        out.index_copy_(0, rows, x.index_select(0, rows) @ weight.T)
    return out
