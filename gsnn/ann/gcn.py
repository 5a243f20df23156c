"""Reference graph convolutional network with a choice of ANN-side activation."""

from torch import Tensor, nn
from torch_geometric.nn import GCNConv

from gsnn.ann.activation import make_activation
from gsnn.ann.nonzero_dropout import NonzeroDropout


class GCN(nn.Module):
    r"""Kipf & Welling's GCN, optionally deep with residual connections.

    With ``num_layers=2`` this is the classic model
    :math:`\hat{A}\,\sigma(\hat{A} X W_1 + b_1) W_2 + b_2`. Deeper models keep
    the hidden width and add a residual connection around every middle layer,
    before its activation: :math:`h \leftarrow \sigma(\mathrm{conv}(h) + h)`.
    Each layer has its own activation module (one call site each), so a
    trainable QCFS bound is learnt per layer.

    Args:
        in_channels (int): input feature size.
        hidden_channels (int): hidden width.
        out_channels (int): number of classes.
        num_layers (int): graph convolutions, at least 2. (default: ``2``)
        activation (str): ``"relu"``, ``"threshold_relu"`` or ``"qcfs"``.
        dropout (float): dropout before every convolution. (default: ``0.5``)
        residual (bool): residual connections around middle layers. (default: ``False``)
        **activation_options: passed to :func:`gsnn.ann.activation.make_activation`.

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`
        - **output:** logits :math:`(N, C)`
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 2,
        activation: str = "relu",
        dropout: float = 0.5,
        residual: bool = False,
        **activation_options,
    ) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"GCN needs num_layers >= 2, got {num_layers}.")
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(
            self.init_conv(widths[i], widths[i + 1]) for i in range(num_layers)
        )
        self.acts = nn.ModuleList(
            make_activation(activation, **activation_options) for _ in range(num_layers - 1)
        )
        self.dropout = NonzeroDropout(dropout)
        self.residual = residual

    def init_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """One graph convolution of the stack (subclasses swap in another PyG layer)."""
        return GCNConv(in_channels, out_channels, cached=True)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        for index, (conv, act) in enumerate(zip(self.convs[:-1], self.acts)):
            h = conv(self.dropout(x), edge_index)
            if self.residual and index > 0:
                h = h + x
            x = act(h)
        return self.convs[-1](self.dropout(x), edge_index)
