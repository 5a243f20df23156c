"""Burst spikes (Li & Zeng, IJCAI 2022): up to Γ spikes per neuron and step."""

from torch import Tensor, nn

from gsnn.methods.method import (
    ActivationSite,
    ConversionMethod,
    check_channel_wise,
    check_percentile,
    percentile_threshold,
)
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron


@register_method
class BurstMethod(ConversionMethod):
    r"""Rate coding where a neuron may emit up to :math:`\Gamma` spikes in one step.

    Charge above one threshold is not stranded in the membrane: the neuron emits
    :math:`\mathrm{clip}(\lfloor m/\theta \rfloor, 0, \Gamma)` spikes per step
    (O7), so the representable range grows to :math:`\Gamma\theta` per step and
    the threshold can be set tighter. Each spike of a burst is one synaptic event.

    Thresholds: the percentile of non-zero activations divided by :math:`\Gamma`
    (the range is then :math:`\Gamma` thresholds per step), soft reset,
    :math:`v_0 = \theta/2` (rounding at every prefix, O1/O7).

    Args:
        burst (int): the most spikes per step :math:`\Gamma \geq 1`. (default: ``2``)
        percentile (float): threshold statistic. (default: ``99.9``)
        channel_wise (bool): one threshold per channel, the percentile of that
            channel's activations, instead of one per layer. (default: ``False``)
    """

    name = "burst"
    accepted_activations = ("relu", "threshold_relu", "qcfs")
    training_hint = "train with ReLU."

    def __init__(self, burst: int = 2, percentile: float = 99.9, channel_wise: bool = False):
        if not isinstance(burst, int) or burst < 1:
            raise ValueError(f"burst: the burst size must be an integer >= 1, got {burst!r}.")
        self.burst = burst
        self.percentile = check_percentile("burst", percentile)
        self.channel_wise = check_channel_wise("burst", channel_wise)

    def threshold(self, site: ActivationSite) -> Tensor:
        return percentile_threshold(site, self.percentile, self.channel_wise) / self.burst

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=threshold / 2, max_spikes_per_step=self.burst)

    def __repr__(self) -> str:
        return (
            f"BurstMethod(burst={self.burst}, percentile={self.percentile}, "
            f"channel_wise={self.channel_wise})"
        )
