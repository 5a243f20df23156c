"""One-Spike SNN (Hwang & Kung, IEEE TETC 2024): one spike per neuron, phase-coded [R]."""

import torch
from torch import Tensor, nn

from gsnn.coding import SingleSpikeCoder
from gsnn.methods.method import (
    ActivationSite,
    ConversionMethod,
    check_channel_wise,
    check_percentile,
    one_hot_step,
    percentile_threshold,
)
from gsnn.methods.registry import register_method
from gsnn.neurons import OneSpikeNeuron
from gsnn.nn.readout import SumReadout

INPUT_CODINGS = ("analog", "single-spike")


@register_method
class OneSpikeMethod(ConversionMethod):
    r"""Single-spike phase coding on the ladder :math:`\theta B^{-k}`, no retraining.

    Every layer integrates one window of :math:`K = T` phases and then each
    neuron fires at most once; the phase of the spike selects its value. The
    receiving layer weights phase :math:`k` by :math:`B^{-k}` after its matmul
    (one multiply per receiving neuron and phase; every spike still costs
    accumulates only) and adds its bias once per window. The analog input is
    injected in the first step of the first window, or, with
    ``input_coding="single-spike"``, coded like the activations
    (:class:`~gsnn.coding.SingleSpikeCoder`, top of the ladder = largest
    calibration input), so the first layer runs on spikes too. ReLU is implicit.

    Latency: :math:`D \cdot K + 1` steps for :math:`D` spiking layers (O20, analog
    input in one step), :math:`(D + 1) K` with single-spike input. Spikes per
    neuron per inference: at most 1.

    Args:
        base (float): ladder base :math:`B > 1`; below 2 is denser (base
            manipulation). (default: ``2.0``)
        shift (float, optional): threshold-shift factor :math:`c`; ``None`` for
            the midpoint :math:`(1 + 1/B)/2` (nearest ladder value).
        percentile (float): threshold :math:`\theta` = this percentile of the
            non-zero activations; 100 is the maximum. (default: ``100.0``)
        input_coding (str): ``"analog"`` or ``"single-spike"``. (default: ``"analog"``)
        channel_wise (bool): one threshold per channel, the percentile of that
            channel's activations, instead of one per layer. (default: ``False``)
    """

    name = "one-spike"
    accepted_activations = ("relu", "threshold_relu", "qcfs")
    training_hint = "train with ReLU (no retraining is needed)."
    accepts_spike_coded_input = False

    def __init__(
        self,
        base: float = 2.0,
        shift=None,
        percentile: float = 100.0,
        input_coding: str = "analog",
        channel_wise: bool = False,
    ) -> None:
        if input_coding not in INPUT_CODINGS:
            raise ValueError(
                f"one-spike: input_coding must be one of {INPUT_CODINGS}, got {input_coding!r}."
            )
        self.input_coding = input_coding
        if not base > 1:
            raise ValueError(f"one-spike: base must be > 1, got {base!r}.")
        self.base = float(base)
        self.shift = shift
        self.percentile = check_percentile("one-spike", percentile)
        self.channel_wise = check_channel_wise("one-spike", channel_wise)

    def threshold(self, site: ActivationSite) -> Tensor:
        return percentile_threshold(site, self.percentile, self.channel_wise)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return OneSpikeNeuron(threshold, base=self.base, shift=self.shift)

    def _ladder(self, steps: int) -> Tensor:
        """The rung values B^-k for k = 0, ..., steps - 1 (float64)."""
        return self.base ** -torch.arange(steps, dtype=torch.float64)

    def step_gains(self, source, steps: int):
        if source == "input" and self.input_coding == "single-spike":
            return self._ladder(steps)
        if source == "input":
            return one_hot_step(0, steps)
        if source == "spikes":
            return self._ladder(steps)
        return None  # already weighted upstream (e.g. a residual sum)

    def bias_gains(self, input_depth: int, steps: int) -> Tensor:
        return one_hot_step(0, steps)  # once per window

    def spike_values(self, depth: int, T: int, steps: int) -> Tensor:
        return self._ladder(steps)

    def make_readout(self, depth: int, T: int) -> nn.Module:
        return SumReadout()

    def make_input_coder(self, x: Tensor):
        if self.input_coding == "analog":
            return None
        top = float(x.max()) if x.numel() else 0.0
        return SingleSpikeCoder(top if top > 0 else 1.0, base=self.base, shift=self.shift)

    def latency(self, depth: int, T: int) -> int:
        if self.input_coding == "single-spike":
            return (depth + 1) * T
        return depth * T + 1

    def __repr__(self) -> str:
        return (
            f"OneSpikeMethod(base={self.base:g}, shift={self.shift}, percentile={self.percentile}, "
            f"channel_wise={self.channel_wise})"
        )
