"""The reference graph classifiers the commands train on TU data sets."""

from torch import Tensor, nn
from torch_geometric.nn import GCNConv, GINConv, global_add_pool, global_mean_pool

from gsnn.ann import make_activation

# --model name: (convolution, readout), the two layouts PyG's examples teach
LAYOUTS = {"gin": "GIN + global_add_pool", "gcn": "GCN + global_mean_pool"}


class GraphClassifier(nn.Module):
    """Graph convolutions, a global pooling readout and a linear head: one logit row per graph.

    ``conv="gin"`` is PyG's ``examples/mutag_gin.py``: GINConv layers whose MLPs are
    Linear-activation-Linear, each followed by the activation, ``global_add_pool`` and a
    Linear-activation-Linear head. ``conv="gcn"`` is the PyG Colab classifier: GCNConv
    layers with the activation after each, ``global_mean_pool`` and one Linear.

    Args:
        in_channels (int): node features.
        hidden_channels (int): width of every layer.
        out_channels (int): classes.
        num_layers (int): graph convolutions. (default: ``3``)
        conv (str): ``"gin"`` or ``"gcn"``. (default: ``"gin"``)
        activation (str): a :func:`gsnn.ann.make_activation` name. (default: ``"relu"``)
        **activation_options: passed to :func:`gsnn.ann.make_activation`.

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`, graph of
          every node :math:`(N)`
        - **output:** :math:`(G, C)`
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int = 3,
        conv: str = "gin",
        activation: str = "relu",
        **activation_options,
    ) -> None:
        super().__init__()
        if conv not in LAYOUTS:
            raise ValueError(f"Unknown conv {conv!r}; choose one of {', '.join(LAYOUTS)}.")

        def act() -> nn.Module:
            return make_activation(activation, **activation_options)

        widths = [in_channels] + [hidden_channels] * num_layers
        if conv == "gin":
            self.convs = nn.ModuleList(
                GINConv(nn.Sequential(nn.Linear(width, hidden_channels), act(),
                                      nn.Linear(hidden_channels, hidden_channels)))
                for width in widths[:-1]
            )  # fmt: skip
            self.head = nn.Sequential(
                nn.Linear(hidden_channels, hidden_channels),
                act(),
                nn.Linear(hidden_channels, out_channels),
            )
        else:
            self.convs = nn.ModuleList(GCNConv(width, hidden_channels) for width in widths[:-1])
            self.head = nn.Linear(hidden_channels, out_channels)
        self.acts = nn.ModuleList(act() for _ in range(num_layers))
        self.conv = conv

    def forward(self, x: Tensor, edge_index: Tensor, batch: Tensor) -> Tensor:
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x, edge_index))
        # the pooling function is called by name: the converter recognises it at the call
        if self.conv == "gin":
            return self.head(global_add_pool(x, batch))
        return self.head(global_mean_pool(x, batch))
