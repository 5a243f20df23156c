"""Normalisation of a traced ANN: inference-only ops removed, every op classified."""

from typing import Dict, List

import torch
from torch import fx, nn

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import (
    FUNCTIONAL_POOLS,
    OpRole,
    qualified_name,
    role_of,
)

TRACE_GUARDS = {torch.fx._symbolic_trace._assert_is_none}


def remove_inference_identities(graph_module: fx.GraphModule) -> None:
    """Drop dropout, ``nn.Identity`` and fx's guards on specialised ``None`` arguments."""
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op == "call_function" and node.target in TRACE_GUARDS:
            graph_module.graph.erase_node(node)
        elif node.op.startswith("call") and role_of(node, modules) is OpRole.REMOVED:
            node.replace_all_uses_with(node.args[0])
            graph_module.graph.erase_node(node)
    for node in list(graph_module.graph.nodes):
        if node.op == "placeholder" and not node.users and node.args:
            graph_module.graph.erase_node(node)  # specialised default argument
    graph_module.graph.lint()
    graph_module.recompile()


def modularise_functional_pools(graph_module: fx.GraphModule) -> None:
    """Rewrite ``F.avg_pool2d(x, 2)`` and friends into calls of the equivalent pooling module.

    The rule table then handles functional and module pooling alike.
    """
    for index, node in enumerate(list(graph_module.graph.nodes)):
        if node.op != "call_function" or node.target not in FUNCTIONAL_POOLS:
            continue
        module_type, argument_names = FUNCTIONAL_POOLS[node.target]
        options = dict(zip(argument_names, node.args[1:]))
        options.update(node.kwargs)
        if any(isinstance(value, fx.Node) for value in options.values()):
            raise ConversionError(
                f"{qualified_name(node, {})} has pooling options computed at run time; give "
                "them as constants.",
                [qualified_name(node, {})],
            )
        name = f"functional_pool_{index}"
        graph_module.add_submodule(name, module_type(**options))
        with graph_module.graph.inserting_after(node):
            pool = graph_module.graph.call_module(name, (node.args[0],))
        node.replace_all_uses_with(pool)
        graph_module.graph.erase_node(node)
    graph_module.graph.lint()
    graph_module.recompile()


# the usual fix for ops users write that have a supported equivalent
UNSUPPORTED_OP_FIXES = {
    "view": "flatten with torch.flatten(x, 1), x.flatten(1) or nn.Flatten() instead",
    "reshape": "flatten with torch.flatten(x, 1), x.flatten(1) or nn.Flatten() instead",
    torch.reshape: "flatten with torch.flatten(x, 1), x.flatten(1) or nn.Flatten() instead",
}


def check_supported(graph_module: fx.GraphModule) -> None:
    """Raise one :class:`ConversionError` naming every op gsnn cannot convert."""
    modules: Dict[str, nn.Module] = dict(graph_module.named_modules())
    offending: List[str] = []
    described: List[str] = []
    for node in graph_module.graph.nodes:
        if node.op.startswith("call") and role_of(node, modules) is OpRole.UNSUPPORTED:
            name = qualified_name(node, modules)
            fix = UNSUPPORTED_OP_FIXES.get(node.target) if node.op != "call_module" else None
            offending.append(name)
            described.append(f"{name}: {fix}" if fix else name)
    if offending:
        raise ConversionError(
            "Cannot convert these ops to spiking equivalents: "
            + "; ".join(described)
            + ". gsnn.supported_ops() lists what converts; docs/supported_ops.md explains it.",
            offending,
        )
