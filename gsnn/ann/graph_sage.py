"""Reference GraphSAGE network with a choice of ANN-side activation."""

from torch import nn
from torch_geometric.nn import SAGEConv

from gsnn.ann.gcn import GCN


class GraphSAGE(GCN):
    r"""Hamilton et al.'s GraphSAGE with mean aggregation, laid out like :class:`GCN`.

    Every layer is :class:`torch_geometric.nn.SAGEConv` with ``aggr="mean"``,
    :math:`\mathbf{x}'_i = \mathbf{W}_1 \mathbf{x}_i + \mathbf{W}_2\,
    \mathrm{mean}_{j \in \mathcal{N}(i)} \mathbf{x}_j + \mathbf{b}`; depth, dropout,
    residual connections and the one activation module per layer are those of
    :class:`GCN`.

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

    def init_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """One mean-aggregating SAGE convolution."""
        return SAGEConv(in_channels, out_channels, aggr="mean")
