"""Two-phase conversion: integrate a whole window, then fire (SpikeConverter, AAAI 2022) [R]."""

from torch import Tensor, nn

from gsnn.methods.method import (
    ActivationSite,
    ConversionMethod,
    check_percentile,
    percentile_threshold,
)
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron, TwoPhaseNeuron


@register_method
class TwoPhaseMethod(ConversionMethod):
    r"""Integrate-then-fire neurons on a layer-pipelined schedule.

    Each layer integrates its input for one window of :math:`T` steps and fires
    during the next, so its spike count is an exact function of its total input
    (O8). With a QCFS ANN trained at :math:`L = T` (threshold :math:`\lambda`,
    :math:`v_0 = \lambda/2`) the SNN equals the quantised ANN exactly, at any
    depth (O22a). Plain-ReLU ANNs convert too, with the percentile threshold of
    ``rate`` (then the SNN equals a clipped, :math:`T`-level rounded ReLU network).

    Latency: :math:`(D + 1) \cdot T` steps for :math:`D` spiking layers on the
    longest path (O20); a new sample can enter every :math:`T` steps.

    Signed variant (``signed=True``, methods.md §2, optional and unconfirmed for
    the paper): no window separation. Every layer fires online, as it
    integrates, and takes back early spikes with :math:`-1` spikes
    (:class:`~gsnn.neurons.IFNeuron` with ``signed=True``, :math:`v_0 = \theta/2`).
    Its net count after :math:`T` steps is
    :math:`\mathrm{clip}(\lfloor (v_0 + \sum_t I(t))/\theta \rfloor, 0, T)`, the same
    as the two-window neuron's, whenever every step's input satisfies
    :math:`|I(t)| \le \theta` (O9). The SNN then equals the QCFS ANN exactly at a
    latency of :math:`T` steps; larger per-step inputs make it an approximation.
    Negative spikes are events and are counted in :class:`~gsnn.metrics.SpikeStats`.

    Args:
        percentile (float): threshold statistic for ReLU sites. (default: ``99.9``)
        signed (bool): the single-window variant with negative spikes. (default: ``False``)
    """

    name = "two-phase"
    accepted_activations = ("qcfs", "relu", "threshold_relu")
    training_hint = "train with gsnn.ann.QCFS (L = T) for exact conversion, or with ReLU."

    def __init__(self, percentile: float = 99.9, signed: bool = False) -> None:
        self.percentile = check_percentile("two-phase", percentile)
        if not isinstance(signed, bool):
            raise ValueError(f"two-phase: signed must be True or False, got {signed!r}.")
        self.signed = signed

    def threshold(self, site: ActivationSite) -> Tensor:
        if site.kind == "qcfs":
            return site.module.threshold.detach().abs().clone()
        return percentile_threshold(site, self.percentile)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        if self.signed:
            return IFNeuron(threshold, v0=threshold / 2, signed=True)
        return TwoPhaseNeuron(threshold, v0=threshold / 2)

    def latency(self, depth: int, T: int) -> int:
        return T if self.signed else (depth + 1) * T

    def __repr__(self) -> str:
        return f"TwoPhaseMethod(percentile={self.percentile}, signed={self.signed})"
