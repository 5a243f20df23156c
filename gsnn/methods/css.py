"""Canonic Signed Spike coding (Gu, Gu, Shen, Huang; arXiv 2408.17245) [R]."""

import torch
from torch import Tensor, nn

from gsnn.methods.method import (
    ActivationSite,
    ConversionMethod,
    check_channel_wise,
    check_percentile,
    one_hot_step,
    percentile_threshold,
)
from gsnn.methods.registry import register_method
from gsnn.neurons import TernarySelfAmplifyingNeuron
from gsnn.nn.readout import WeightedSumReadout


@register_method
class CSSMethod(ConversionMethod):
    r"""Signed digits with weights :math:`\beta^{-k}`, silent period, ternary neurons.

    Converts a full-precision ANN without retraining. Every layer waits
    :math:`d` steps after its input starts, then emits :math:`K = T` signed
    digits (:class:`~gsnn.neurons.TernarySelfAmplifyingNeuron`); layer
    :math:`l` fires from global step :math:`l d` on. The analog input enters
    the first layer once, at step 0; each bias enters once, with the weight of
    the first input digit. The output accumulates the digits it receives with
    their weights. Simulated steps and latency: :math:`K + d D` for :math:`D`
    spiking layers (O20). A residual add (or concatenation) delays its shallower
    input by :math:`d` steps per spiking layer it skips, so that digits of equal
    weight meet (:class:`~gsnn.nn.SpikeDelay`; methods.md §4: align the silent
    periods of both branches). Without that delay, a ResNet basic block's
    identity shortcut would count :math:`\beta^{d}` times too much.

    Args:
        base (float): digit base :math:`\beta \in (1, 3]`. (default: ``2.0``)
        silent_steps (int): silent period :math:`d`. (default: ``1``)
        percentile (float): :math:`\theta` = this percentile of the non-zero
            activations (100: the maximum, so that :math:`a \le 1.5\theta`). (default: ``100``)
        channel_wise (bool): one threshold per channel, the percentile of that
            channel's activations, instead of one per layer. (default: ``False``)
    """

    name = "css"
    accepted_activations = ("relu", "threshold_relu", "qcfs")
    training_hint = "train with ReLU (no retraining is needed)."
    accepts_spike_coded_input = False
    exact_max_pool = False

    def __init__(
        self,
        base: float = 2.0,
        silent_steps: int = 1,
        percentile: float = 100.0,
        channel_wise: bool = False,
    ):
        if not 1 < base <= 3:
            raise ValueError(f"css: base must lie in (1, 3], got {base!r}.")
        if not isinstance(silent_steps, int) or silent_steps < 0:
            raise ValueError(f"css: silent_steps must be an integer >= 0, got {silent_steps!r}.")
        self.base = float(base)
        self.silent_steps = silent_steps
        self.percentile = check_percentile("css", percentile)
        self.channel_wise = check_channel_wise("css", channel_wise)

    def threshold(self, site: ActivationSite) -> Tensor:
        return percentile_threshold(site, self.percentile, self.channel_wise)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return TernarySelfAmplifyingNeuron(
            threshold,
            base=self.base,
            silent_steps=self.silent_steps,
            fire_start=depth * self.silent_steps,
            digits=T,
        )

    def step_gains(self, source, steps: int):
        if source == "input":
            return one_hot_step(0, steps)
        return None  # hidden layers: the neurons weight the digits by amplification

    def bias_gains(self, input_depth: int, steps: int) -> Tensor:
        return one_hot_step(input_depth * self.silent_steps, steps)  # with the first digit

    def spike_values(self, depth: int, T: int, steps: int) -> Tensor:
        # digit k = t - t_f of a neuron firing from t_f = depth * d weighs beta^-k, k < T
        digit = torch.arange(steps, dtype=torch.float64) - depth * self.silent_steps
        return torch.where((digit >= 0) & (digit < T), self.base ** -digit.clamp(min=0), 0.0)

    def branch_delay(self, depth_gap: int) -> int:
        return depth_gap * self.silent_steps

    def simulation_steps(self, depth: int, T: int) -> int:
        return T + depth * self.silent_steps

    def latency(self, depth: int, T: int) -> int:
        return self.simulation_steps(depth, T)

    def make_readout(self, depth: int, T: int) -> nn.Module:
        # the output layer's currents carry the digits of the neurons depth layers deep
        return WeightedSumReadout(self.spike_values(depth, T, self.simulation_steps(depth, T)))

    def __repr__(self) -> str:
        return (
            f"CSSMethod(base={self.base:g}, silent_steps={self.silent_steps}, "
            f"percentile={self.percentile}, channel_wise={self.channel_wise})"
        )
