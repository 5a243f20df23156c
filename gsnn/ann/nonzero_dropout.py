"""Dropout that draws random numbers only for non-zero inputs."""

import torch
from torch import Tensor, nn


class NonzeroDropout(nn.Dropout):
    """Same distribution as :class:`torch.nn.Dropout`, faster on sparse inputs.

    A dropped zero is still zero, so only the non-zero entries need a random
    draw. Bag-of-words node features (Cora: 1.3% non-zero) make the dense
    version spend most of a GCN's training step in the random number
    generator; this one draws 77 times fewer numbers there. Like Kipf &
    Welling's sparse dropout. At inference it is the identity (and the
    converter removes it like any ``nn.Dropout``).

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        positions = x.nonzero(as_tuple=True)
        keep = torch.rand(positions[0].numel(), dtype=x.dtype, device=x.device) >= self.p
        out = torch.zeros_like(x)
        out[positions] = x[positions] * keep / (1 - self.p)
        return out
