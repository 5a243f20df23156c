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
    exactly at :math:`T = L` (O1/O5); deeper layers match in expectation.
    """

    name = "qcfs"
    accepted_activations = ("qcfs",)
    training_hint = "train with gsnn.ann.QCFS in place of ReLU."

    def check_site(self, site: ActivationSite) -> Optional[str]:
        problem = super().check_site(site)
        if problem is None and not float(site.module.threshold.detach()) > 0:
            # a bound lambda < 0 makes QCFS a non-positive staircase of -z; |lambda| would not
            # reproduce it, so refuse instead of converting silently into a different function
            return (
                f"QCFS site '{site.name}' has a non-positive bound lambda = "
                f"{float(site.module.threshold.detach()):g}; an IF neuron needs a threshold > 0. "
                "Retrain (e.g. a smaller learning rate for lambda) so that lambda stays positive."
            )
        return problem

    def threshold(self, site: ActivationSite) -> Tensor:
        return site.module.threshold.detach().abs().clone()

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=threshold / 2, reset="soft")
