"""How many neurons deep each node of a spiking body sits."""

from typing import Dict, Set

from torch import fx


def depth_per_node(graph_module: fx.GraphModule, neuron_names: Set[str]) -> Dict[fx.Node, int]:
    """Neurons on the longest path from an input up to each node (the node included)."""
    depth: Dict[fx.Node, int] = {}
    for node in graph_module.graph.nodes:
        before = max((depth[source] for source in node.all_input_nodes), default=0)
        depth[node] = before + (node.op == "call_module" and node.target in neuron_names)
    return depth


def depth_per_module(graph_module: fx.GraphModule, neuron_names: Set[str]) -> Dict[str, int]:
    """:func:`depth_per_node` keyed by module name (``"output"`` for the output)."""
    depth = depth_per_node(graph_module, neuron_names)
    return {node.name if node.op == "output" else str(node.target): d for node, d in depth.items()}
