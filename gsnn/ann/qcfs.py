"""Quantisation-clip-floor-shift activation of Bu et al. (ICLR 2022)."""

from typing import Optional

import torch
from torch import Tensor, nn


class QCFS(nn.Module):
    r"""The QCFS staircase with :math:`L` levels and a trainable upper bound :math:`\lambda`.

    .. math::
        h(z) = |\lambda| \cdot \mathrm{clip}\left(
        \frac{1}{L}\left\lfloor \frac{zL}{|\lambda|} + \varphi \right\rfloor, 0, 1\right)

    The floor passes gradients straight through. The bound is used as
    :math:`|\lambda|`, as the dual-phase code's clip and quantiser use theirs
    (:class:`TClamp`, :class:`NoisyQC`): a gradient step that carries the parameter
    past zero leaves a staircase with a positive bound, which an IF neuron can
    reproduce, instead of a non-positive one that no neuron can. While
    :math:`\lambda > 0` this is Bu et al.'s :math:`h` with the same values and
    gradients. An IF neuron with threshold :math:`|\lambda|`, soft reset and
    :math:`v_0 = |\lambda|/2` reproduces it exactly at :math:`T = L` for constant
    input (methods.md O1/O5). The floor rounds ties half up, as the neuron does.

    Args:
        levels (int): quantisation levels :math:`L \geq 1`. (default: ``8``)
        init_threshold (float, optional): initial :math:`\lambda`; ``None`` sets it
            from the data on the first forward pass (the largest input), which
            suits inputs of any scale (row-normalised node features give
            pre-activations far below the CNN default of 4). (default: ``None``)
        phase (float): the shift :math:`\varphi`. (default: ``0.5``)

    Shapes:
        - **input:** :math:`(*)`
        - **output:** :math:`(*)`
    """

    def __init__(
        self, levels: int = 8, init_threshold: Optional[float] = None, phase: float = 0.5
    ) -> None:
        super().__init__()
        if not isinstance(levels, int) or levels < 1:
            raise ValueError(f"QCFS: levels must be an integer >= 1, got {levels!r}.")
        if init_threshold is not None and init_threshold <= 0:
            raise ValueError(f"QCFS: init_threshold must be > 0, got {init_threshold!r}.")
        self.levels = levels
        self.phase = phase
        self.threshold = nn.Parameter(torch.tensor(float(init_threshold or 1.0)))
        self.register_buffer("initialised", torch.tensor(init_threshold is not None))

    @torch.no_grad()
    def _initialise_from(self, x: Tensor) -> None:
        largest = float(x.max()) if x.numel() else 0.0
        self.threshold.fill_(largest if largest > 0 else 1.0)
        self.initialised.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        if not self.initialised:
            self._initialise_from(x)
        bound = self.threshold.abs()
        scaled = x * self.levels / bound + self.phase
        floored = scaled + (torch.floor(scaled) - scaled).detach()
        return torch.clamp(floored / self.levels, 0, 1) * bound

    def extra_repr(self) -> str:
        return f"levels={self.levels}, threshold={self.threshold.item():.4g}, phase={self.phase}"
