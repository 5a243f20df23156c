"""Rate coding with data-based normalisation (Diehl et al. 2015; Rueckauer et al. 2017)."""

from torch import Tensor, nn

from gsnn.methods.method import (
    ActivationSite,
    ConversionMethod,
    check_percentile,
    percentile_threshold,
)
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron


@register_method
class RateMethod(ConversionMethod):
    """Plain-ReLU ANN; threshold = a high percentile of the non-zero activations.

    As in snn_toolbox: percentile 99.9 over *non-zero* calibration activations,
    integrate-and-fire neurons with reset by subtraction and :math:`v_0 = 0`,
    bias every step, analog input. The threshold is folded into the next
    layer's weights (weight normalisation, O14/O19).

    Args:
        percentile (float): percentile in (0, 100]; 100 is Diehl's max-norm. (default: ``99.9``)
    """

    name = "rate"
    accepted_activations = ("relu", "threshold_relu")
    training_hint = "train with ReLU (or a threshold ReLU)."

    def __init__(self, percentile: float = 99.9) -> None:
        self.percentile = check_percentile("rate", percentile)

    def threshold(self, site: ActivationSite) -> Tensor:
        return percentile_threshold(site, self.percentile)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=0.0, reset="soft")

    def __repr__(self) -> str:
        return f"RateMethod(percentile={self.percentile})"
