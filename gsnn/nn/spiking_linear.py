"""Time-batched linear layer for spike inputs."""

import math
from typing import Optional, Union

import torch
from torch import Tensor, nn
from torch_geometric.nn import Linear as PyGLinear

from gsnn.nn.registry import converts
from gsnn.nn.silent_rows import matmul_skipping_silent_rows
from gsnn.nn.synaptic_layer import WeightedLayer
from gsnn.nn.time_constant import map_steps


@converts(nn.Linear, PyGLinear)
class SpikingLinear(WeightedLayer):
    r"""A linear layer applied to all time steps in one matmul.

    .. math::
        \mathbf{Y}(t) = \mathbf{X}(t) \mathbf{W}^{\top} + \mathbf{b}

    All :math:`T` steps are stacked into the rows of one operand; rows that
    carry no spike are skipped. Time-constant inputs (analog coding) are
    computed once.

    Args:
        in_features (int): size of each input sample.
        out_features (int): size of each output sample.
        bias (bool): learn an additive bias, added at every step (or once, see
            :class:`~gsnn.nn.synaptic_layer.SynapticLayer`). (default: ``True``)

    Shapes:
        - **input:** :math:`(T, *, F_{in})`
        - **output:** :math:`(T, *, F_{out})`
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise like :class:`torch.nn.Linear`."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    @classmethod
    def from_ann(cls, linear: Union[nn.Linear, PyGLinear]) -> "SpikingLinear":
        """Copy the weights of a trained :class:`torch.nn.Linear` or
        :class:`torch_geometric.nn.Linear`.

        Raises:
            ValueError: PyG's layer is lazy (``in_channels=-1``) and has not yet
                seen an input, so it has no weights to copy.
        """
        if isinstance(linear.weight, nn.parameter.UninitializedParameter):
            raise ValueError(
                f"torch_geometric.nn.Linear({linear.in_channels}, {linear.out_channels}) is lazy "
                "and has no weights yet: run the model once on data (or give in_channels) "
                "before converting."
            )
        return cls.with_weights(linear.weight, linear.bias)

    @classmethod
    def with_weights(cls, weight: Tensor, bias: Optional[Tensor]) -> "SpikingLinear":
        """A layer holding copies of ``weight`` :math:`(F_{out}, F_{in})` and ``bias``, in
        their dtype (created in it, so that float64 weights are not rounded on the way)."""
        out_features, in_features = weight.shape
        layer = cls(in_features, out_features, bias=bias is not None).to(weight.dtype)
        layer.weight.data.copy_(weight.detach())
        if bias is not None:
            layer.bias.data.copy_(bias.detach())
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() < 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape [T, ..., {self.in_features}], "
                f"got {tuple(x.shape)}."
            )

        return self.finish_steps(self.linear_map(x), self.bias, fresh=True)

    def linear_map(self, x: Tensor) -> Tensor:
        """``x @ W.T`` for all steps at once, without bias, gains or input checks."""

        def product(block: Tensor) -> Tensor:
            rows = block.reshape(-1, self.in_features)
            if self.receives_spikes:
                out = matmul_skipping_silent_rows(rows, self.weight)
            else:  # analog rows are rarely all zero: checking would cost more than it saves
                out = rows @ self.weight.T
            return out.reshape(*block.shape[:-1], self.out_features)

        return map_steps(product, x)

    @torch.no_grad()
    def scale_inputs_(self, gain: Tensor) -> None:
        """Multiply the weight of every input channel by ``gain`` (scalar or ``[F_in]``)."""
        self.weight.mul_(torch.as_tensor(gain, dtype=self.weight.dtype))

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift`` (BN folding)."""
        self.weight.mul_(scale.to(self.weight.dtype).unsqueeze(1))
        bias = self.bias if self.bias is not None else torch.zeros_like(shift)
        new_bias = bias * scale + shift
        self.bias = nn.Parameter(new_bias.to(self.weight.dtype))

    def synaptic_fanout(self, x: Tensor) -> Tensor:
        """Accumulates caused by one unit event at each input channel: ``F_out``."""
        return torch.full((self.in_features,), float(self.out_features))

    def dense_macs(self, x: Tensor) -> int:
        """MACs of the equivalent ANN layer for one step of ``x``."""
        rows = math.prod(x.shape[1:-1])
        return rows * self.in_features * self.out_features

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
