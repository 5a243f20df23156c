"""Average pooling over spike trains, applied to all time steps at once."""

from typing import Optional, Sequence

from torch import Tensor, nn

from gsnn.nn.registry import converts
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.time_constant import map_samples
from gsnn.nn.validation import check_image_steps


@converts(nn.AvgPool2d, nn.AdaptiveAvgPool2d)
class SpikingAvgPool2d(StructuralOp):
    r"""Applies a trained average-pooling module to every time step.

    Average pooling is linear and time-invariant, so it commutes with time
    averaging exactly (methods.md O16c). It carries no weights of its own: the
    converter folds it, with the threshold of the neurons before it, into the
    next weighted layer, which then receives pooled spikes. One pooled unit
    stands for :attr:`events_per_unit` spike events, so that layer counts its
    synaptic operations per spike (:meth:`events_per_unit`).

    Args:
        pool (nn.AvgPool2d or nn.AdaptiveAvgPool2d): the ANN's pooling module.

    Shapes:
        - **input:** :math:`(T, B, C, H, W)`
        - **output:** :math:`(T, B, C, H_{out}, W_{out})`
    """

    def __init__(self, pool: nn.Module) -> None:
        super().__init__()
        if not isinstance(pool, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            raise ValueError(
                f"SpikingAvgPool2d wraps nn.AvgPool2d or nn.AdaptiveAvgPool2d, got "
                f"{type(pool).__name__}."
            )
        self.pool = pool

    @classmethod
    def from_ann(cls, pool: nn.Module) -> "SpikingAvgPool2d":
        """Pool with the trained module's window options."""
        return cls(pool)

    def forward(self, x: Tensor) -> Tensor:
        check_image_steps(self, x)
        return map_samples(self.pool, x)

    def events_per_unit(self, sample_shape: Sequence[int]) -> Optional[float]:
        """Spike events one unit of pooled output stands for, on inputs of ``sample_shape``.

        ``None`` when the windows differ in size (padding not counted, uneven
        adaptive windows): the converter then sends currents, not spikes, on.
        """
        pool = self.pool
        if isinstance(pool, nn.AvgPool2d):
            if pool.divisor_override is not None:
                return float(pool.divisor_override)
            padded = pool.padding not in (0, (0, 0))
            if padded and not pool.count_include_pad:
                return None
            kernel = pool.kernel_size
            kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
            return float(kernel[0] * kernel[1])
        size = pool.output_size
        size = (size, size) if isinstance(size, int) else size
        height, width = sample_shape[-2:]
        out_h, out_w = (s if s is not None else d for s, d in zip(size, (height, width)))
        if height % out_h or width % out_w:
            return None
        return float((height // out_h) * (width // out_w))

    def extra_repr(self) -> str:
        return repr(self.pool)
