"""Phase coding with weighted spikes (Kim, Park, Na, Yoon, Neurocomputing 2018)."""

import torch
from torch import Tensor, nn

from gsnn.methods.method import (
    ActivationSite,
    ConversionMethod,
    check_channel_wise,
    check_percentile,
    percentile_threshold,
)
from gsnn.methods.registry import register_method
from gsnn.neurons import PhaseNeuron
from gsnn.neurons.phase_neuron import phase_weights
from gsnn.nn.readout import WeightedSumReadout


@register_method
class PhaseMethod(ConversionMethod):
    r"""Binary phase coding: spikes weighted :math:`2^{-(1 + (t \bmod K))}`, plain ReLU ANN.

    Every layer receives currents weighted by the phase of the step they come
    from: spikes by :math:`\omega(t)`, the analog input and the biases by
    :math:`\omega(t) / (1 - 2^{-K})` so that one period delivers them whole.
    The output decodes one period's worth of current, averaged over the
    :math:`T/K` periods simulated. Online schedule: latency :math:`T`, which
    must be a multiple of :math:`K`.

    Args:
        period (int): phases per period :math:`K`. (default: ``8``)
        percentile (float): threshold statistic; a period can express values
            up to :math:`\theta (1 - 2^{-K})`. (default: ``99.9``)
        channel_wise (bool): one threshold per channel, the percentile of that
            channel's activations, instead of one per layer. (default: ``False``)
    """

    name = "phase"
    accepted_activations = ("relu", "threshold_relu", "qcfs")
    training_hint = "train with ReLU."
    accepts_spike_coded_input = False
    exact_max_pool = False

    def __init__(self, period: int = 8, percentile: float = 99.9, channel_wise: bool = False):
        if not isinstance(period, int) or period < 1:
            raise ValueError(f"phase: period must be an integer >= 1, got {period!r}.")
        self.period = period
        self.percentile = check_percentile("phase", percentile)
        self.channel_wise = check_channel_wise("phase", channel_wise)

    def threshold(self, site: ActivationSite) -> Tensor:
        return percentile_threshold(site, self.percentile, self.channel_wise)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return PhaseNeuron(threshold, period=self.period)

    def _whole_period_weights(self, steps: int) -> Tensor:
        return phase_weights(steps, self.period) / (1 - 2.0**-self.period)

    def step_gains(self, source, steps: int):
        if source == "input":
            return self._whole_period_weights(steps)
        if source == "spikes":
            return phase_weights(steps, self.period)
        return None  # already weighted upstream (e.g. a residual sum)

    def bias_gains(self, input_depth: int, steps: int) -> Tensor:
        return self._whole_period_weights(steps)

    def spike_values(self, depth: int, T: int, steps: int) -> Tensor:
        # one period carries a K-bit binary fraction; the T / K periods are averaged
        return phase_weights(steps, self.period) * self.period / T

    def make_readout(self, depth: int, T: int) -> nn.Module:
        if T % self.period:
            raise ValueError(f"phase: T = {T} must be a multiple of the period K = {self.period}.")
        return WeightedSumReadout(torch.full((T,), self.period / T, dtype=torch.float64))

    def __repr__(self) -> str:
        return (
            f"PhaseMethod(period={self.period}, percentile={self.percentile}, "
            f"channel_wise={self.channel_wise})"
        )
