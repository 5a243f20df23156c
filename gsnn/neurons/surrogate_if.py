"""A differentiable run of a soft-reset IF neuron: exact spikes, surrogate gradient."""

import torch
from torch import Tensor

from gsnn.neurons.if_neuron import IFNeuron


class _HeavisideTanh(torch.autograd.Function):
    """Forward: ``membrane >= threshold``; backward: d/dx of ``0.5 tanh(a x) + 0.5``."""

    @staticmethod
    def forward(ctx, membrane: Tensor, threshold: Tensor, sharpness: float) -> Tensor:
        ctx.save_for_backward(membrane, threshold)
        ctx.sharpness = sharpness
        # compare directly (not (m - theta) / theta >= 0, which can underflow to -0.0)
        return (membrane >= threshold).to(membrane.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor):
        membrane, threshold = ctx.saved_tensors
        # the distance to the threshold in units of the threshold: the surrogate's
        # width scales with the threshold, whatever the layer's range
        x = (membrane - threshold) / threshold
        slope = 0.5 * ctx.sharpness * (1 - torch.tanh(ctx.sharpness * x) ** 2) / threshold
        return grad * slope, None, None


def surrogate_if(neuron: IFNeuron, current: Tensor, sharpness: float = 2.5) -> Tensor:
    r"""Run ``neuron`` on ``current`` with a gradient, for surrogate-gradient calibration.

    The forward pass gives exactly the spikes of ``neuron(current)`` (soft reset,
    one spike per step, firing rule :math:`m \geq \theta`, the neuron's
    :math:`v_0` and shift). The backward pass replaces the derivative of the
    step by that of :math:`\tfrac12\tanh(a x) + \tfrac12` with
    :math:`x = (m - \theta)/\theta` and :math:`a` = ``sharpness`` (the
    dual-phase reference code uses 2.5 on a unit threshold). The reset is
    differentiated too. :class:`IFNeuron`'s own forward stays gradient-free and
    fast; this is a separate, slower path used only while calibrating.

    Args:
        neuron (IFNeuron): a soft-reset neuron with ``max_spikes_per_step=1`` and
            no signed spikes.
        current (Tensor): input currents.
        sharpness (float): the surrogate's steepness :math:`a > 0`. (default: ``2.5``)

    Shapes:
        - **current:** :math:`(T, *)`
        - **output:** spikes :math:`(T, *)`, in :math:`\{0, 1\}`

    Raises:
        ValueError: for neurons other than the soft-reset binary IF neuron.
    """
    if not isinstance(neuron, IFNeuron):
        raise ValueError(f"surrogate_if runs IFNeuron only, got {type(neuron).__name__}.")
    if neuron.reset_mode != "soft" or neuron.max_spikes_per_step != 1 or neuron.signed:
        raise ValueError(
            "surrogate_if needs a soft-reset IFNeuron with one unsigned spike per step, got "
            f"{neuron.extra_repr()}."
        )
    if not sharpness > 0:
        raise ValueError(f"surrogate_if: sharpness must be > 0, got {sharpness!r}.")
    if current.dim() < 1:
        raise ValueError(f"surrogate_if expects currents [T, ...], got {tuple(current.shape)}.")
    theta = neuron.threshold.to(current.dtype)
    shift = neuron.shift.to(current.dtype)
    membrane = neuron.v0.to(current.dtype).expand(current.shape[1:])
    steps = []
    for t in range(current.shape[0]):
        membrane = membrane + current[t] + shift
        spikes = _HeavisideTanh.apply(membrane, theta.expand_as(membrane), sharpness)
        membrane = membrane - theta * spikes
        steps.append(spikes)
    return torch.stack(steps)
