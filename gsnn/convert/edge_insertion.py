"""Routing one edge of a traced graph through a new module."""

from typing import Dict, Tuple

from torch import fx, nn


def insert_between(
    graph_module: fx.GraphModule,
    source: fx.Node,
    user: fx.Node,
    name: str,
    module: nn.Module,
    sample_shapes: Dict[str, Tuple[int, ...]],
) -> fx.Node:
    """Route the edge ``source -> user`` through a new submodule ``name``; the new node's
    output keeps ``source``'s sample shape. Returns the new node."""
    graph_module.add_submodule(name, module)
    with graph_module.graph.inserting_before(user):
        inserted = graph_module.graph.call_module(name, (source,))
    if source.name in sample_shapes:
        sample_shapes[inserted.name] = sample_shapes[source.name]
    user.replace_input_with(source, inserted)
    return inserted
