"""Max pooling that is exact on spike counts."""

from torch import Tensor, nn

from gsnn.nn.registry import converts
from gsnn.nn.running_count_max import RunningCountMax
from gsnn.nn.time_constant import map_samples
from gsnn.nn.validation import check_image_steps


@converts(nn.MaxPool2d)
class SpikingMaxPool2d(RunningCountMax):
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

    The running counts carry over between chunks of steps with
    :attr:`keep_state` (see :class:`~gsnn.nn.running_count_max.RunningCountMax`).

    It pools the spikes of neurons; the converter rejects max pooling of
    currents, which has no exact spiking form (pool after the activation
    instead: for a monotone activation both orders give the same ANN).

    Args:
        pool (nn.MaxPool2d): the ANN's pooling module (its window options are used).

    Shapes:
        - **input:** spikes :math:`(T, B, C, H, W)`
        - **output:** spikes :math:`(T, B, C, H_{out}, W_{out})`
    """

    operation = "max pooling"
    linear_alternative = "AvgPool2d"

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        if not isinstance(pool, nn.MaxPool2d) or pool.return_indices:
            raise ValueError("SpikingMaxPool2d wraps an nn.MaxPool2d without return_indices.")
        self.pool = pool

    @classmethod
    def from_ann(cls, pool: nn.MaxPool2d) -> "SpikingMaxPool2d":
        """Pool with the trained module's window options."""
        return cls(pool)

    def forward(self, x: Tensor) -> Tensor:
        check_image_steps(self, x)
        return self.running_max(x, lambda counts: map_samples(self.pool, counts))

    def extra_repr(self) -> str:
        return repr(self.pool)
