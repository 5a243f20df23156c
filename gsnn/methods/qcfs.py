"""QCFS conversion (Bu et al., ICLR 2022)."""

from torch import Tensor, nn

from gsnn.methods.method import ActivationSite, ConversionMethod
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron


@register_method
class QCFSMethod(ConversionMethod):
    r"""QCFS-trained ANN; threshold = the learnt bound :math:`\lambda`; :math:`v_0 = \lambda/2`.

    With constant input the first spiking layer reproduces the QCFS staircase
    exactly at :math:`T = L` (O1/O5); deeper layers match in expectation.
    """

    name = "qcfs"
    accepted_activations = ("qcfs",)
    training_hint = "train with gsnn.ann.QCFS in place of ReLU."

    def threshold(self, site: ActivationSite) -> Tensor:
        return site.module.threshold.detach().abs().clone()

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=threshold / 2, reset="soft")
