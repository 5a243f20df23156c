"""The options every PyG message-passing layer takes, checked before a spiking copy is built."""

from torch_geometric.nn import MessagePassing
from torch_geometric.nn.aggr import SumAggregation


def check_sum_aggregation(conv: MessagePassing) -> None:
    """Raise ``ValueError`` unless ``conv`` sums messages from source to target nodes.

    The spiking layers realise the default of the PyG layers they copy:
    ``aggr="add"`` and ``flow="source_to_target"``; another aggregation or
    flow passed through ``**kwargs`` would change what the layer computes.
    """
    name = type(conv).__name__
    if not isinstance(conv.aggr_module, SumAggregation):
        raise ValueError(
            f"{name} with aggr={conv.aggr!r} is not supported: the spiking layer sums its "
            "messages; train with the default aggr='add'."
        )
    if conv.flow != "source_to_target":
        raise ValueError(
            f"{name} with flow={conv.flow!r} is not supported; train with the default "
            "flow='source_to_target'."
        )
