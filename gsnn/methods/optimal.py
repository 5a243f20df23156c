"""Optimal conversion of Deng & Gu (ICLR 2021): threshold ReLU, soft reset, shift."""

import torch
from torch import Tensor, nn

from gsnn.methods.method import ActivationSite, ConversionMethod
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron


@register_method
class OptimalMethod(ConversionMethod):
    r"""Threshold-ReLU ANN; threshold = observed maximum; shift :math:`\theta/2T` per step.

    The shift turns the spike count into a *rounding* quantiser at
    :math:`t = T` (O4). It is applied exactly once per step, unlike the
    reference code, which adds it twice (methods.md §1e).
    """

    name = "optimal"
    accepted_activations = ("threshold_relu",)
    training_hint = "train with gsnn.ann.ThresholdReLU in place of ReLU."

    def threshold(self, site: ActivationSite) -> Tensor:
        value = site.statistics.max
        return torch.tensor(value if value > 0 else site.module.threshold)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=0.0, shift=threshold / (2 * T), reset="soft")
