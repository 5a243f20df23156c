"""The integrate-and-fire family: soft/hard reset, initial potential, shift, burst, signed."""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import Tensor

from gsnn.neurons.neuron import Neuron
from gsnn.neurons.validation import check_time_axis

Number = Union[float, int, Tensor]

RESET_MODES = ("soft", "hard")


def _as_buffer(value: Number, name: str) -> Tensor:
    tensor = torch.as_tensor(value, dtype=torch.float64 if not isinstance(value, Tensor) else None)
    if not torch.is_floating_point(tensor):
        tensor = tensor.to(torch.float64)
    if not torch.isfinite(tensor).all():
        raise ValueError(f"IFNeuron: '{name}' must be finite, got {value!r}.")
    return tensor.detach().clone()


class IFNeuron(Neuron):
    r"""Integrate-and-fire neuron over a whole time window.

    At every step :math:`t` the membrane integrates the input current and fires
    when it reaches the threshold (firing rule :math:`m \geq \theta`):

    .. math::
        m(t) = v(t-1) + I(t) + \delta, \qquad
        n(t) = \mathrm{clip}(\lfloor m(t) / \theta \rfloor, 0, \Gamma), \qquad
        v(t) = m(t) - \theta\, n(t) \;\text{(soft)} \;\text{or}\; 0 \;\text{(hard, if } n(t) > 0)

    with :math:`v(0) = v_0`. With ``signed=True`` (soft reset) the neuron may also
    emit negative spikes while its net spike count :math:`C(t-1) = \sum_{\tau<t} n(\tau)`
    is positive, adding :math:`\theta` back to the membrane per spike, so early
    over-firing is taken back: :math:`n(t) = \mathrm{clip}(\lfloor m(t)/\theta
    \rfloor, -\min(C(t-1), \Gamma), \Gamma)`. With ``max_count`` the net count never
    exceeds it: the upper bound becomes :math:`\min(\Gamma, C_{\max} - C(t-1))`.

    A signed neuron with :math:`\Gamma \geq C_{\max} = T` (soft reset, no shift,
    :math:`0 \le v_0 < \theta`) ends every window with :math:`0 \le v(T) < \theta`
    unless a bound binds, so its net count is
    :math:`\mathrm{clip}(\lfloor (v_0 + \sum_t I(t))/\theta \rfloor, 0, T)` for *any*
    input sequence (O9 without its per-step bound): the two-phase neuron's count (O8),
    reached online.

    Spikes stay spikes: the output holds spike *counts* per step from the
    alphabet :math:`\{0, 1\}`, :math:`\{-1, 0, 1\}` (signed),
    :math:`\{0, \dots, \Gamma\}` (burst) or :math:`\{-\Gamma, \dots, \Gamma\}`
    (signed burst); a count of :math:`k` is :math:`k` spikes (events). The
    threshold is not multiplied in; the converter folds it into the receiving
    synaptic layer.

    Args:
        threshold (float or Tensor): firing threshold :math:`\theta > 0`; a
            tensor broadcastable to one step's input gives per-channel thresholds.
        v0 (float or Tensor): initial membrane potential :math:`v_0` (absolute,
            e.g. ``threshold / 2`` for QCFS-style rounding). (default: ``0.0``)
        shift (float or Tensor): constant current :math:`\delta` added at every
            step (Deng & Gu use :math:`\theta / 2T`). (default: ``0.0``)
        reset (str): ``"soft"`` (subtract :math:`\theta` per spike) or
            ``"hard"`` (reset to zero). (default: ``"soft"``)
        max_spikes_per_step (int): burst size :math:`\Gamma \geq 1`. (default: ``1``)
        signed (bool): allow corrective negative spikes. (default: ``False``)
        max_count (int, optional): the largest net spike count of a window
            :math:`C_{\max}`; ``None`` for no bound. (default: ``None``)

    Shapes:
        - **input:** currents :math:`(T, *)`
        - **output:** spike counts :math:`(T, *)`, same dtype as the input

    By default every call starts from :math:`v_0`. Set :attr:`keep_state` to
    ``True`` to stream a long input in chunks of steps; :meth:`reset` then
    starts a new sample.
    """

    streams_state = True
    max_count: Optional[int] = None  # what neurons saved before the option existed load with

    def __init__(
        self,
        threshold: Number = 1.0,
        v0: Number = 0.0,
        shift: Number = 0.0,
        reset: str = "soft",
        max_spikes_per_step: int = 1,
        signed: bool = False,
        max_count: Optional[int] = None,
    ) -> None:
        super().__init__()
        if reset not in RESET_MODES:
            raise ValueError(f"IFNeuron: reset must be one of {RESET_MODES}, got {reset!r}.")
        if not isinstance(max_spikes_per_step, int) or max_spikes_per_step < 1:
            raise ValueError(
                "IFNeuron: max_spikes_per_step must be an integer >= 1, "
                f"got {max_spikes_per_step!r}."
            )
        if signed and reset != "soft":
            raise ValueError("IFNeuron: signed spikes need reset='soft'.")
        if max_count is not None and (not isinstance(max_count, int) or max_count < 1):
            raise ValueError(
                f"IFNeuron: max_count must be an integer >= 1 or None, got {max_count!r}."
            )
        threshold = _as_buffer(threshold, "threshold")
        if (threshold <= 0).any():
            raise ValueError("IFNeuron: threshold must be > 0 everywhere.")
        self.register_buffer("threshold", threshold)
        self.register_buffer("v0", _as_buffer(v0, "v0"))
        self.register_buffer("shift", _as_buffer(shift, "shift"))
        self.reset_mode = reset
        self.max_spikes_per_step = max_spikes_per_step
        self.signed = signed
        self.max_count = max_count
        self.keep_state = False
        self._membrane: Optional[Tensor] = None
        self._net_count: Optional[Tensor] = None

    def reset(self) -> None:
        """Forget the membrane state kept between calls (``keep_state=True``)."""
        self._membrane = None
        self._net_count = None

    @property
    def membrane(self) -> Optional[Tensor]:
        """The membrane potential after the last step of the last call."""
        return self._membrane

    @torch.no_grad()  # spikes have no gradient; surrogate_if differentiates the neuron
    def forward(self, current: Tensor) -> Tensor:
        check_time_axis(self, current)
        theta = self.threshold.to(current.dtype)
        shift = self.shift.to(current.dtype)
        step_shape = current.shape[1:]
        if self.keep_state and self._membrane is not None:
            # the scan updates in place: the state handed out by `membrane` stays as it was
            membrane = self._membrane.clone()
            net_count = self._net_count.clone() if self.counts_net_spikes else None
        else:
            membrane = self.v0.to(current.dtype).expand(step_shape).clone()
            net_count = (
                torch.zeros(step_shape, dtype=current.dtype) if self.counts_net_spikes else None
            )
        has_shift = bool(shift.any())
        # same memory layout as the current (node-major after a graph aggregation)
        spikes = torch.empty_like(current)
        for t in range(current.shape[0]):
            spikes_t = spikes[t]
            membrane.add_(current[t])
            if has_shift:
                membrane.add_(shift)
            self._fire_into(spikes_t, membrane, theta, net_count)
            if net_count is not None:
                net_count.add_(spikes_t)
            self._reset_(membrane, spikes_t, theta)
        self._membrane, self._net_count = membrane, net_count
        return spikes

    def _fire_into(
        self, spikes: Tensor, membrane: Tensor, theta: Tensor, net_count: Optional[Tensor]
    ) -> None:
        """Write one step's spike counts into ``spikes``."""
        burst = self.max_spikes_per_step
        if net_count is not None and (burst > 1 or self.max_count is not None):
            torch.div(membrane, theta, out=spikes)
            spikes.floor_()
            if self.max_count is None:
                upper = torch.full_like(net_count, burst)
            else:
                upper = net_count.neg().add_(self.max_count).clamp_(max=burst)
            lower = net_count.clamp(max=burst).neg_() if self.signed else torch.zeros_like(upper)
            spikes.clamp_(lower, upper)
            return
        if burst > 1:
            torch.div(membrane, theta, out=spikes)
            spikes.floor_().clamp_(0, burst)
            return
        torch.ge(membrane, theta, out=spikes)
        if self.signed:  # theta > 0, so a negative membrane never fires a positive spike
            spikes.masked_fill_((membrane < 0) & (net_count > 0), -1.0)

    @property
    def counts_net_spikes(self) -> bool:
        """Whether the neuron tracks its net spike count (signed or bounded)."""
        return self.signed or self.max_count is not None

    def _reset_(self, membrane: Tensor, spikes: Tensor, theta: Tensor) -> None:
        """Reset the membrane after the step that emitted ``spikes``, in place."""
        if self.reset_mode == "hard":
            membrane.masked_fill_(spikes > 0, 0.0)
        elif self.max_spikes_per_step == 1:  # theta * spikes is exact: one fused update
            membrane.addcmul_(spikes, theta, value=-1)
        else:
            membrane.sub_(theta * spikes)

    def extra_repr(self) -> str:
        def show(t: Tensor) -> str:
            return f"{t.item():g}" if t.numel() == 1 else f"tensor{tuple(t.shape)}"

        parts = [f"threshold={show(self.threshold)}", f"v0={show(self.v0)}"]
        if self.shift.any():
            parts.append(f"shift={show(self.shift)}")
        parts.append(f"reset={self.reset_mode!r}")
        if self.max_spikes_per_step > 1:
            parts.append(f"max_spikes_per_step={self.max_spikes_per_step}")
        if self.signed:
            parts.append("signed=True")
        if self.max_count is not None:
            parts.append(f"max_count={self.max_count}")
        return ", ".join(parts)
