"""Time-batched 2-d convolution for spike inputs."""

import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gsnn.nn.fanout import fanout_per_input
from gsnn.nn.registry import converts
from gsnn.nn.synaptic_layer import WeightedLayer
from gsnn.nn.time_constant import map_samples


@converts(nn.Conv2d)
class SpikingConv2d(WeightedLayer):
    r"""A 2-d convolution applied to all time steps in one call.

    .. math::
        \mathbf{Y}(t) = \mathbf{W} \star \mathbf{X}(t) + \mathbf{b}

    The steps are merged into the batch axis (:math:`T \cdot B` images in one
    convolution); a time-constant input (analog coding) is convolved once.
    Options match :class:`torch.nn.Conv2d` with zero padding.

    Args:
        in_channels (int): input channels :math:`C_{in}`.
        out_channels (int): output channels :math:`C_{out}`.
        kernel_size (int or tuple): kernel size.
        stride (int or tuple): stride. (default: ``1``)
        padding (int or tuple): zero padding. (default: ``0``)
        dilation (int or tuple): dilation. (default: ``1``)
        groups (int): blocked connections. (default: ``1``)
        bias (bool): learn an additive bias. (default: ``True``)

    Shapes:
        - **input:** :math:`(T, B, C_{in}, H, W)`
        - **output:** :math:`(T, B, C_{out}, H_{out}, W_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        reference = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias
        )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = reference.kernel_size, reference.stride
        self.padding, self.dilation = reference.padding, reference.dilation
        self.weight = reference.weight
        self.bias = reference.bias
        self._fanout_cache: Dict[Tuple[int, ...], Tensor] = {}

    @classmethod
    def from_ann(cls, conv: nn.Conv2d) -> "SpikingConv2d":
        """Copy a trained :class:`torch.nn.Conv2d` (zero padding only)."""
        if conv.padding_mode != "zeros":
            raise ValueError(
                f"padding_mode={conv.padding_mode!r} is not supported; retrain with "
                "padding_mode='zeros'."
            )
        if isinstance(conv.padding, str):
            raise ValueError(
                f"padding={conv.padding!r} is not supported; give the padding as integers."
            )
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
            bias=conv.bias is not None,
        )
        layer.load_state_dict(conv.state_dict())
        return layer.to(conv.weight.dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 5 or x.shape[2] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape [T, B, {self.in_channels}, H, W], "
                f"got {tuple(x.shape)}."
            )
        out = map_samples(lambda images: self._convolve(images, self.weight), x)
        return self.finish_steps(out, None if self.bias is None else self.bias.view(-1, 1, 1))

    def _convolve(self, images: Tensor, weight: Tensor) -> Tensor:
        return F.conv2d(images, weight, None, self.stride, self.padding, self.dilation, self.groups)

    @torch.no_grad()
    def scale_inputs_(self, gain: Tensor) -> None:
        """Multiply the weight of every input channel by ``gain`` (scalar or ``[C_in]``)."""
        gain = torch.as_tensor(gain, dtype=self.weight.dtype)
        if gain.numel() > 1:
            if self.groups != 1:
                raise ValueError("Per-channel input gains need a convolution with groups=1.")
            gain = gain.view(1, -1, 1, 1)
        self.weight.mul_(gain)
        self._fanout_cache.clear()

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift`` (BN folding, O15)."""
        self.weight.mul_(scale.to(self.weight.dtype).view(-1, 1, 1, 1))
        bias = self.bias if self.bias is not None else torch.zeros_like(shift)
        self.bias = nn.Parameter((bias * scale + shift).to(self.weight.dtype))
        self._fanout_cache.clear()

    def synaptic_fanout(self, x: Tensor) -> Tensor:
        """Accumulates caused by one unit event at each input element, :math:`(C_{in}, H, W)`.

        Each element reaches every output it is connected to by a non-zero
        weight: :math:`C_{out} k^2` for a stride-1 convolution away from the
        borders, fewer at the borders.
        """
        shape = tuple(x.shape[2:])
        if shape not in self._fanout_cache:
            mask = (self.weight.detach() != 0).to(torch.float64)
            self._fanout_cache[shape] = fanout_per_input(
                lambda probe: self._convolve(probe, mask), shape
            )
        return self._fanout_cache[shape].to(x.dtype)

    def dense_macs(self, x: Tensor) -> int:
        """MACs of the equivalent ANN convolution for one step of ``x``."""
        height, width = (
            (size + 2 * pad - dil * (kernel - 1) - 1) // step + 1
            for size, pad, dil, kernel, step in zip(
                x.shape[-2:], self.padding, self.dilation, self.kernel_size, self.stride
            )
        )
        per_output = (self.in_channels // self.groups) * math.prod(self.kernel_size)
        return x.shape[1] * self.out_channels * height * width * per_output

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
            + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")
            + (f", groups={self.groups}" if self.groups != 1 else "")
            + f", bias={self.bias is not None}"
        )
