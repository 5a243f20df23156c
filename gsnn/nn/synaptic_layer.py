"""What every synaptic layer shares: spike flag, per-step gains and the bias schedule."""

from typing import Optional

from torch import Tensor, nn

from gsnn.nn.time_constant import map_steps


class SynapticLayer(nn.Module):
    """Base class of layers that carry spikes (or analog input) to neurons.

    Attributes:
        receives_spikes (bool): the input holds spike counts (set by the
            converter); decides whether silent rows are skipped and whether the
            statistics count synaptic operations or MACs.
        step_gains (Tensor, optional): :math:`(T,)` weights of the steps of a
            weighted code (phase, single-spike), applied after the matmul so
            that each spike still costs accumulates only; ``None`` for rate codes.
        bias_gains (Tensor, optional): :math:`(T,)` weight of the bias at every
            step; weighted codes add it once (a one-hot vector at the step of the
            first input digit) or weighted like the spikes. ``None`` adds it
            unweighted at every step (rate codes).
        input_event_scale (float): spike events one unit of input stands for;
            above 1 when average pooling between the neurons and this layer is
            folded into it (a pooled unit is the mean of several spikes).
    """

    def __init__(self) -> None:
        super().__init__()
        self.receives_spikes = True
        self.step_gains: Optional[Tensor] = None
        self.bias_gains: Optional[Tensor] = None
        self.input_event_scale = 1.0

    def finish_steps(self, out: Tensor, bias: Optional[Tensor]) -> Tensor:
        """Apply the step gains and the bias schedule to a bias-free output ``[T, ...]``."""
        if self.step_gains is not None:
            if self.step_gains.numel() != out.shape[0]:
                raise ValueError(
                    f"{type(self).__name__} has {self.step_gains.numel()} step gains but the "
                    f"input has {out.shape[0]} steps; set the network's T instead of "
                    "slicing inputs."
                )
            gains = self.step_gains.to(out.dtype).view(-1, *([1] * (out.dim() - 1)))
            out = out * gains
        if bias is None:
            return out
        if self.bias_gains is None:
            return map_steps(lambda block: block + bias, out)
        gains = self.bias_gains.to(out.dtype).view(-1, *([1] * (out.dim() - 1)))
        return out + gains * bias
