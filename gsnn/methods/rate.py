"""Rate coding with data-based normalisation (Diehl et al. 2015; Rueckauer et al. 2017)."""

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


def _check_initial_potential(value: float) -> float:
    """Raise ``ValueError`` unless ``value`` is a number in [0, 1); return it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            "rate: initial_potential is v0 as a fraction of the threshold, a number in [0, 1) "
            f"(0.5 gives rounding), got {value!r}."
        )
    return float(value)


@register_method
class RateMethod(ConversionMethod):
    r"""Plain-ReLU ANN; threshold = a high percentile of the non-zero activations.

    As in snn_toolbox: percentile 99.9 over *non-zero* calibration activations,
    integrate-and-fire neurons with reset by subtraction and :math:`v_0 = 0`,
    bias every step, analog input. The threshold is folded into the next
    layer's weights (weight normalisation, O14/O19).

    ``initial_potential=0.5`` starts every membrane at :math:`\theta/2` (Bu et
    al.'s optimal potential initialisation, the QCFS shift): the spike count
    then rounds instead of flooring at *every* step, and a deep layer fires in
    its first steps instead of waiting for its inputs to charge it from zero.
    This is not snn_toolbox's recipe, so it is off by default. On CIFAR-10
    ResNet-20 (1,000 test images, seeds 0-2) it lifts the SNN at T = 16 from
    chance to 53-73 % and at T = 64 from 62.1 % to 80.5 % (ANN 82.4 %;
    ``experiments/results/image_classification.md``).

    ``channel_wise=True`` gives every channel its own threshold, the percentile
    of that channel's activations (Kim et al., AAAI 2020, channel-wise
    normalisation), instead of one per layer: a channel whose activations are
    small then spikes as often as a large one, so it is resolved in as few
    steps. Off by default, as in snn_toolbox. Alone it barely changes the
    under-firing of deep nets; with ``initial_potential=0.5`` as well, CIFAR-10
    ResNet-20 loses 0.74 points at T = 64 against 1.74 with the initial
    potential alone (1,000 test images, seeds 0-4).

    Args:
        percentile (float): percentile in (0, 100]; 100 is Diehl's max-norm. (default: ``99.9``)
        initial_potential (float): :math:`v_0` as a fraction of the threshold, in
            [0, 1). (default: ``0.0``)
        channel_wise (bool): one threshold per channel, the percentile of that
            channel's activations, instead of one per layer. (default: ``False``)
    """

    name = "rate"
    accepted_activations = ("relu", "threshold_relu")
    training_hint = "train with ReLU (or a threshold ReLU)."

    def __init__(
        self, percentile: float = 99.9, initial_potential: float = 0.0, channel_wise: bool = False
    ) -> None:
        self.percentile = check_percentile("rate", percentile)
        self.initial_potential = _check_initial_potential(initial_potential)
        self.channel_wise = check_channel_wise("rate", channel_wise)

    def threshold(self, site: ActivationSite) -> Tensor:
        return percentile_threshold(site, self.percentile, self.channel_wise)

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=self.initial_potential * threshold, reset="soft")

    def __repr__(self) -> str:
        return (
            f"RateMethod(percentile={self.percentile}, initial_potential="
            f"{self.initial_potential}, channel_wise={self.channel_wise})"
        )
