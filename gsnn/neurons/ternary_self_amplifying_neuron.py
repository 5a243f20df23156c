"""Ternary self-amplifying neuron of Canonic Signed Spike coding (Gu et al., 2024) [R]."""

import torch
from torch import Tensor

from gsnn.neurons.if_neuron import Number, _as_buffer
from gsnn.neurons.neuron import Neuron
from gsnn.neurons.validation import check_time_axis


class TernarySelfAmplifyingNeuron(Neuron):
    r"""Emits signed digits :math:`s \in \{-1, 0, 1\}` whose weights decay as :math:`\beta^{-k}`.

    At every step the membrane is amplified before it integrates:
    :math:`U \leftarrow \beta U + \beta^{-d} I(t)`. From step :math:`t_f` on (after
    the silent period :math:`d` that lets the smaller digits of the input
    arrive) it fires :math:`+1` when :math:`U \ge \theta/2`, :math:`-1` when
    :math:`U \le -\theta/2`, and subtracts :math:`s\theta`. The :math:`k`-th digit
    (:math:`k = 0, \dots, K-1`) stands for :math:`\theta s \beta^{-k}`, so
    :math:`K` steps carry a :math:`K`-digit signed expansion of the input (O10:
    error at most :math:`\frac{\theta}{2}\beta^{-(K-1)}` for :math:`|x| \le 1.5\theta`,
    :math:`1 < \beta \le 3`). Negative digits correct early over-estimates; the
    ReLU guard refuses a negative digit that would make the decoded value
    negative, so the neuron computes a ReLU. Reconstruction [R] of the TSA
    neuron from the paper's abstract and reviews (methods.md §4).

    Args:
        threshold (float or Tensor): :math:`\theta > 0`.
        base (float): amplification :math:`\beta > 1`. (default: ``2.0``)
        silent_steps (int): silent period :math:`d \ge 0`. (default: ``1``)
        fire_start (int): first firing step :math:`t_f` on the network clock.
        digits (int): number of digits :math:`K` to emit.
        relu_guard (bool): never let the decoded value go negative. (default: ``True``)

    Shapes:
        - **input:** currents on the network clock :math:`(S, *)`
        - **output:** ternary spikes :math:`(S, *)`, zero outside the firing steps
    """

    multiplies_per_neuron_step = 1  # the amplification (a shift when base is 2)

    def __init__(
        self,
        threshold: Number,
        base: float = 2.0,
        silent_steps: int = 1,
        fire_start: int = 1,
        digits: int = 8,
        relu_guard: bool = True,
    ) -> None:
        super().__init__()
        threshold = _as_buffer(threshold, "threshold")
        if (threshold <= 0).any():
            raise ValueError("TernarySelfAmplifyingNeuron: threshold must be > 0 everywhere.")
        if not base > 1:
            raise ValueError(f"TernarySelfAmplifyingNeuron: base must be > 1, got {base!r}.")
        if silent_steps < 0 or fire_start < 0 or digits < 1:
            raise ValueError(
                "TernarySelfAmplifyingNeuron: silent_steps and fire_start must be >= 0 and "
                f"digits >= 1, got {silent_steps}, {fire_start}, {digits}."
            )
        self.register_buffer("threshold", threshold)
        self.base = float(base)
        self.silent_steps = silent_steps
        self.fire_start = fire_start
        self.digits = digits
        self.relu_guard = relu_guard

    def forward(self, current: Tensor) -> Tensor:
        check_time_axis(self, current)
        theta = self.threshold.to(current.dtype)
        compensation = self.base ** (-self.silent_steps)
        membrane = torch.zeros(current.shape[1:], dtype=current.dtype)
        decoded = torch.zeros_like(membrane)
        spikes = torch.zeros(current.shape, dtype=current.dtype)
        last = min(current.shape[0], self.fire_start + self.digits)
        for t in range(last):
            membrane = self.base * membrane + compensation * current[t]
            if t < self.fire_start:
                continue
            weight = self.base ** (-(t - self.fire_start))
            digit = (membrane >= theta / 2).to(current.dtype) - (membrane <= -theta / 2).to(
                current.dtype
            )
            if self.relu_guard:
                digit = torch.where((digit < 0) & (decoded - theta * weight < 0), 0.0, digit)
            membrane = membrane - digit * theta
            decoded = decoded + digit * theta * weight
            spikes[t] = digit
        return spikes

    def extra_repr(self) -> str:
        shown = f"{self.threshold.item():g}" if self.threshold.numel() == 1 else "tensor"
        return (
            f"threshold={shown}, base={self.base:g}, silent_steps={self.silent_steps}, "
            f"fire_start={self.fire_start}, digits={self.digits}, relu_guard={self.relu_guard}"
        )
