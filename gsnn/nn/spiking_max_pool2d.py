"""Max pooling that is exact on spike counts."""

import torch
from torch import Tensor, nn

from gsnn.nn.registry import converts
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.time_constant import map_samples
from gsnn.nn.validation import check_image_steps


@converts(nn.MaxPool2d)
class SpikingMaxPool2d(StructuralOp):
    r"""Max pooling of spike trains by their running counts.

    Per-step max pooling of spikes (a logical OR) over-counts whenever the
    inputs' spikes are not nested (methods.md O16a). This layer instead pools
    the running spike counts :math:`C_i(t) = \sum_{\tau \le t} s_i(\tau)` and
    emits their increments:

    .. math::
        o(t) = \max_i C_i(t) - \max_i C_i(t-1),

    so the output count after every step equals the largest input count,
    :math:`\sum_{\tau \le t} o(\tau) = \max_i C_i(t)`. Binary inputs give binary
    outputs. This is exact for any code whose value is a monotone function of
    the count and whose spikes come first-in-first (O16b): two-phase neurons
    fire their :math:`N` spikes at the start of the window, single-spike codes
    fire once (the earliest spike wins), and rate codes are decoded by count.
    Weighted digit codes (phase, CSS) are not monotone in the count and must use
    average pooling instead.

    By default every call starts from zero counts. Set :attr:`keep_state` to
    ``True`` to stream a long input in chunks of steps; :meth:`reset` then
    starts a new sample.

    It pools the spikes of neurons; the converter rejects max pooling of
    currents, which has no exact spiking form (pool after the activation
    instead: for a monotone activation both orders give the same ANN).

    Args:
        pool (nn.MaxPool2d): the ANN's pooling module (its window options are used).

    Shapes:
        - **input:** spikes :math:`(T, B, C, H, W)`
        - **output:** spikes :math:`(T, B, C, H_{out}, W_{out})`
    """

    exact_for_counts_only = True
    stateful = True

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        if not isinstance(pool, nn.MaxPool2d) or pool.return_indices:
            raise ValueError("SpikingMaxPool2d wraps an nn.MaxPool2d without return_indices.")
        self.pool = pool
        self.keep_state = False
        self.reset()

    @classmethod
    def from_ann(cls, pool: nn.MaxPool2d) -> "SpikingMaxPool2d":
        """Pool with the trained module's window options."""
        return cls(pool)

    def reset(self) -> None:
        """Forget the running counts kept between calls (``keep_state=True``)."""
        self._input_counts = None
        self._pooled_counts = None

    def forward(self, x: Tensor) -> Tensor:
        check_image_steps(self, x)
        running = torch.cumsum(x, dim=0)
        if self.keep_state and self._input_counts is not None:
            running = running + self._input_counts
        counts = map_samples(self.pool, running)
        previous = torch.zeros_like(counts[:1])
        if self.keep_state and self._pooled_counts is not None:
            previous = self._pooled_counts
        if self.keep_state:
            self._input_counts, self._pooled_counts = running[-1:], counts[-1:]
        return torch.diff(counts, dim=0, prepend=previous)

    def extra_repr(self) -> str:
        return repr(self.pool)
