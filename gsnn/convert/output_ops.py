"""Trailing output ops (``log_softmax``) act on the decoded logits, not on currents."""

from typing import List, Tuple

from torch import fx

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import OpRole, qualified_name, role_of

OutputOp = Tuple[str, object, tuple, dict]  # (fx op, target, extra args, kwargs)


def split_output_ops(graph_module: fx.GraphModule) -> List[OutputOp]:
    """Detach the trailing output ops of ``graph_module`` and return them in order.

    Raises:
        ConversionError: an output op stands anywhere but at the end.
    """
    modules = dict(graph_module.named_modules())
    output_node = next(n for n in graph_module.graph.nodes if n.op == "output")
    ops: List[OutputOp] = []
    node = output_node.args[0]
    while isinstance(node, fx.Node) and node.op.startswith("call"):
        if role_of(node, modules) is not OpRole.OUTPUT or len(node.users) != 1:
            break
        ops.insert(0, (node.op, node.target, tuple(node.args[1:]), dict(node.kwargs)))
        output_node.replace_input_with(node, node.args[0])
        graph_module.graph.erase_node(node)
        node = output_node.args[0]
    for other in graph_module.graph.nodes:
        if other.op.startswith("call") and role_of(other, modules) is OpRole.OUTPUT:
            raise ConversionError(
                f"{qualified_name(other, modules)} is only supported as the last op of the "
                "model (applied to the decoded logits).",
                [qualified_name(other, modules)],
            )
    return ops
