"""Jumping knowledge over the layers' spike trains: ``"cat"`` and ``"max"``."""

from typing import Optional, Sequence

import torch
from torch import Tensor
from torch_geometric.nn.models import JumpingKnowledge

from gsnn.nn.registry import converts
from gsnn.nn.running_count_max import RunningCountMax

MODES = ("cat", "max")


@converts(JumpingKnowledge)
class SpikingJumpingKnowledge(RunningCountMax):
    r""":class:`torch_geometric.nn.models.JumpingKnowledge` over spike trains.

    ``"cat"`` concatenates the layers' representations at every step (linear,
    so exact for every code). ``"max"`` gives every channel of every node the
    largest running count among the layers and emits its increments (see
    :class:`~gsnn.nn.running_count_max.RunningCountMax`), so its count after
    every step is :math:`\max_l C^{(l)}(t)`: exact for count codes only. The
    layers' neurons have thresholds of their own, which cannot fold through
    into the next layer, so they arrive as weighted spikes
    :math:`\theta_l s_l(t)`, whose running sums keep the max exact.

    Args:
        mode (str): ``"cat"`` or ``"max"``.

    Shapes:
        - **input:** a list of :math:`L` node spike trains :math:`(T, |\mathcal{V}|, F)`
        - **output:** :math:`(T, |\mathcal{V}|, L F)` (``"cat"``) or
          :math:`(T, |\mathcal{V}|, F)` (``"max"``)
    """

    operation = "jumping knowledge 'max'"
    linear_alternative = "jk='cat'"

    def __init__(self, mode: str) -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"SpikingJumpingKnowledge supports the modes {MODES}, got {mode!r}.")
        self.mode = mode
        self.exact_for_counts_only = mode == "max"  # a concatenation is linear

    @classmethod
    def from_ann(cls, jk: JumpingKnowledge) -> "SpikingJumpingKnowledge":
        """Build from a trained ``JumpingKnowledge``; raises ``ValueError`` for ``"lstm"``."""
        if jk.mode not in MODES:
            raise ValueError(
                f"JumpingKnowledge(mode={jk.mode!r}) weighs the layers by an LSTM and a softmax "
                "attention computed from the representations themselves, which is not linear "
                "in them and has no spiking form; train with jk='cat' or jk='max' instead."
            )
        return cls(jk.mode)

    def events_per_unit(self, sample_shape: Sequence[int]) -> Optional[float]:
        """``None``: each layer's neurons have their own threshold, which one weight map
        after the concatenation or the max cannot absorb; they arrive as weighted spikes."""
        return None

    def forward(self, xs: Sequence[Tensor]) -> Tensor:
        shapes = {tuple(x.shape) for x in xs}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3:
            raise ValueError(
                f"{type(self).__name__} expects the layers' node spike trains of one shape "
                f"[T, num_nodes, F], got shapes {sorted(shapes)}."
            )
        if self.mode == "cat":
            return torch.cat(list(xs), dim=-1)
        stacked = torch.stack(list(xs), dim=-1)
        return self.running_max(stacked, lambda counts: counts.amax(dim=-1))

    def extra_repr(self) -> str:
        return repr(self.mode)
