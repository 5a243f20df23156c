"""QCFS conversion (Bu et al., ICLR 2022)."""

from typing import Optional

from torch import Tensor, nn

from gsnn.methods.method import ActivationSite, ConversionMethod
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron


@register_method
class QCFSMethod(ConversionMethod):
    r"""QCFS-trained ANN; threshold = the learnt bound :math:`\lambda`; :math:`v_0 = \lambda/2`.

    With constant input the first spiking layer reproduces the QCFS staircase
    exactly at :math:`T = L` (O1/O5); deeper layers match in expectation only
    (O22b): their input is a spike train, and an online neuron whose input
    arrives late or changes sign ends the window one level off.

    Signed bursts (``signed=True, burst=None``, i.e. :math:`\Gamma = T`) remove that
    error. They are gsnn's extension, not in the QCFS paper: the negative spikes of
    Wang et al.'s signed neuron with memory (IJCAI 2022) joined with the burst spikes
    of Li & Zeng (IJCAI 2022). Each neuron fires online as before, may emit up to
    :math:`\Gamma` spikes of either sign in one step, and keeps its net count
    within :math:`[0, T]` (:class:`~gsnn.neurons.IFNeuron` with ``signed=True``,
    ``max_spikes_per_step`` :math:`\Gamma`, ``max_count`` :math:`T`). With
    :math:`\Gamma \ge T` every window ends with a net count of
    :math:`\mathrm{clip}(\lfloor (v_0 + \sum_t I(t))/\theta \rfloor, 0, T)` whatever
    the order of the input (the two-phase neuron's count, O8), so at :math:`T = L`
    the SNN equals its QCFS ANN at any depth, like two-phase (O22a), at a latency of
    :math:`T` steps instead of :math:`(D + 1) T`. Early spikes are provisional:
    outputs read before step :math:`T` are approximations, and corrective spikes
    are events that :class:`~gsnn.metrics.SpikeStats` counts (a burst of
    :math:`k` is :math:`k` spikes). A smaller :math:`\Gamma` is exact wherever no
    step needs a larger burst.

    Args:
        signed (bool): allow corrective negative spikes. (default: ``False``)
        burst (int, optional): the most spikes per neuron and step :math:`\Gamma \geq 1`;
            ``None`` for :math:`\Gamma = T`, as many as the count bounds allow. With
            :math:`\Gamma > 1` the net count of a window is capped at :math:`T`, the QCFS
            clip. (default: ``1``)
    """

    name = "qcfs"
    accepted_activations = ("qcfs",)
    training_hint = "train with gsnn.ann.QCFS in place of ReLU."
    signed, burst = False, 1  # what networks saved before these options were added load with

    def __init__(self, signed: bool = False, burst: Optional[int] = 1) -> None:
        if not isinstance(signed, bool):
            raise ValueError(f"qcfs: signed must be True or False, got {signed!r}.")
        if burst is not None and (
            isinstance(burst, bool) or not isinstance(burst, int) or burst < 1
        ):
            raise ValueError(
                f"qcfs: the burst size must be an integer >= 1 or None (= T), got {burst!r}."
            )
        self.signed = signed
        self.burst = burst

    def threshold(self, site: ActivationSite) -> Tensor:
        return site.module.threshold.detach().abs().clone()

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        burst = T if self.burst is None else self.burst
        return IFNeuron(
            threshold,
            v0=threshold / 2,
            reset="soft",
            max_spikes_per_step=burst,
            signed=self.signed,
            max_count=T if burst > 1 else None,
        )

    def __repr__(self) -> str:
        return f"QCFSMethod(signed={self.signed}, burst={self.burst})"
