"""Flattening of time-major tensors."""

from torch import Tensor, nn

from gsnn.nn.registry import converts
from gsnn.nn.structural_op import StructuralOp


@converts(nn.Flatten)
class SpikingFlatten(StructuralOp):
    r"""The flattening of an :class:`torch.nn.Flatten` applied to every time step.

    Non-negative dimensions skip the leading time axis, so ``nn.Flatten()``
    (``start_dim=1``) flattens each sample of each step. Feature maps flatten
    channel-major, so a per-channel threshold folds through into the next
    linear layer (each channel's threshold repeats over its positions).

    Args:
        start_dim (int): first dimension of a sample to flatten, as in the ANN. (default: ``1``)
        end_dim (int): last dimension to flatten, as in the ANN. (default: ``-1``)

    Shapes:
        - **input:** :math:`(T, B, *)`
        - **output:** :math:`(T, B, \prod *)` (for the defaults)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    @classmethod
    def from_ann(cls, flatten: nn.Flatten) -> "SpikingFlatten":
        """Flatten the same dimensions as ``flatten``."""
        return cls(flatten.start_dim, flatten.end_dim)

    def forward(self, x: Tensor) -> Tensor:
        start = self.start_dim + 1 if self.start_dim >= 0 else self.start_dim
        end = self.end_dim + 1 if self.end_dim >= 0 else self.end_dim
        return x.flatten(start, end)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
