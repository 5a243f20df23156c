"""In-place activations (``x.relu_()``, ``F.relu(x, inplace=True)``, ``nn.ReLU(inplace=True)``).

torch.fx records an in-place op as a node whose input keeps its own name: a
later use of ``x`` reads the input node, although at run time it reads the
activated tensor. Before converting, those later uses are pointed at the
activation, so the traced graph says what the model computes and the neuron
that replaces the activation feeds every op that read its result.
"""

import torch
import torch.nn.functional as F
from torch import fx, nn

IN_PLACE_METHODS = {"relu_"}
IN_PLACE_FUNCTIONS = {torch.relu_}


def is_in_place_activation(node: fx.Node, modules: dict) -> bool:
    """Whether ``node`` overwrites its first argument with its activation."""
    if node.op == "call_method":
        return node.target in IN_PLACE_METHODS
    if node.op == "call_function":
        return node.target in IN_PLACE_FUNCTIONS or (
            node.target is F.relu and node.kwargs.get("inplace", False)
        )
    if node.op == "call_module":
        module = modules[node.target]
        return isinstance(module, nn.ReLU) and module.inplace
    return False


def redirect_in_place_activations(graph_module: fx.GraphModule) -> None:
    """Point every use of an in-place activation's input that runs after it at the
    activation itself (what the tensor holds by then)."""
    modules = dict(graph_module.named_modules())
    order = {node: position for position, node in enumerate(graph_module.graph.nodes)}
    for node in list(graph_module.graph.nodes):
        if not is_in_place_activation(node, modules) or not isinstance(node.args[0], fx.Node):
            continue
        source = node.args[0]
        for user in list(source.users):
            if user is not node and order[user] > order[node]:
                user.replace_input_with(source, node)
    graph_module.recompile()
