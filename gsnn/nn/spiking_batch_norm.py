"""A batch norm after an activation: a per-channel affine map of the spikes at every step."""

import torch
from torch import Tensor, nn

from gsnn.nn.synaptic_layer import WeightedLayer


class SpikingBatchNorm(WeightedLayer):
    r"""A trained batch norm in inference mode applied to weighted spikes at every step:

    .. math::
        \mathbf{y}(t) = \mathbf{a} \odot \mathbf{x}(t) + \mathbf{b}, \qquad
        \mathbf{a} = \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}, \quad
        \mathbf{b} = \beta - \mu \mathbf{a}.

    A batch norm before an activation folds into the layer before it; one
    after an activation (PyG's ``act_first=True``) follows a neuron instead.
    It is linear, so the time average of its output is the ANN's batch norm of
    the decoded spikes. The neuron's threshold folds into :math:`\mathbf{a}`
    (one accumulate per spike), and :math:`\mathbf{b}` follows the method's
    bias schedule (every step for rate codes, once for weighted codes).

    Args:
        scale (Tensor): :math:`\mathbf{a}`, one per channel :math:`(C,)`.
        shift (Tensor): :math:`\mathbf{b}`, one per channel :math:`(C,)`.
        channel_axis (int): the channel axis of one step counted from the end:
            ``-1`` for node features :math:`(N, C)`, ``-3`` for feature maps
            :math:`(B, C, H, W)`. (default: ``-1``)

    Shapes:
        - **input:** spikes :math:`(T, *, C)` or :math:`(T, B, C, H, W)`
        - **output:** currents of the same shape
    """

    def __init__(self, scale: Tensor, shift: Tensor, channel_axis: int = -1) -> None:
        super().__init__()
        self.channel_axis = channel_axis
        self.scale = nn.Parameter(torch.as_tensor(scale).detach().clone())
        self.shift = nn.Parameter(torch.as_tensor(shift).detach().clone())

    @classmethod
    def from_ann(cls, norm: nn.Module) -> "SpikingBatchNorm":
        """The affine map of a trained ``BatchNorm1d``, ``BatchNorm2d`` or PyG ``BatchNorm``.

        Raises:
            ValueError: the batch norm keeps no running statistics.
        """
        batch_norm = getattr(norm, "module", norm)  # PyG's BatchNorm wraps nn.BatchNorm1d
        if not batch_norm.track_running_stats:
            raise ValueError(
                f"{type(norm).__name__} keeps no running statistics, so it has no fixed "
                "inference map; train with track_running_stats=True."
            )
        std = torch.sqrt(batch_norm.running_var + batch_norm.eps)
        weight = batch_norm.weight if batch_norm.affine else torch.ones_like(std)
        bias = batch_norm.bias if batch_norm.affine else torch.zeros_like(std)
        scale = (weight / std).detach()
        axis = -3 if isinstance(batch_norm, nn.BatchNorm2d) else -1
        return cls(scale, (bias - batch_norm.running_mean * scale).detach(), axis)

    def _per_channel(self, values: Tensor) -> Tensor:
        return values.view(-1, *([1] * (-1 - self.channel_axis)))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 1 - self.channel_axis or x.shape[self.channel_axis] != self.scale.numel():
            raise ValueError(
                f"{type(self).__name__} expects {self.scale.numel()} channels at axis "
                f"{self.channel_axis}, got an input of shape {tuple(x.shape)}."
            )
        scale = self._per_channel(self.scale.to(x.dtype))
        return self.finish_steps(x * scale, self._per_channel(self.shift.to(x.dtype)))

    @torch.no_grad()
    def scale_inputs_(self, gain: Tensor) -> None:
        """Multiply the scale of every channel by ``gain`` (threshold folding)."""
        self.scale.mul_(torch.as_tensor(gain, dtype=self.scale.dtype).reshape(-1))

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift``."""
        self.scale.mul_(scale)
        self.shift.mul_(scale).add_(shift)

    def synaptic_fanout(self, x: Tensor) -> Tensor:
        """One accumulate per event."""
        return torch.ones((), dtype=x.dtype)

    def dense_macs(self, x: Tensor) -> int:
        """One multiply-add per element of one step."""
        return x[0].numel()

    def extra_repr(self) -> str:
        return f"{self.scale.numel()}, channel_axis={self.channel_axis}"
