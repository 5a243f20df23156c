"""Normalisation of a traced ANN: inference-only ops removed, every op classified."""

from typing import Dict, List

import torch
from torch import fx, nn

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import OpRole, qualified_name, role_of, supported_ops_summary

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


def check_supported(graph_module: fx.GraphModule) -> None:
    """Raise one :class:`ConversionError` naming every op gsnn cannot convert."""
    modules: Dict[str, nn.Module] = dict(graph_module.named_modules())
    offending: List[str] = []
    for node in graph_module.graph.nodes:
        if node.op.startswith("call") and role_of(node, modules) is OpRole.UNSUPPORTED:
            offending.append(qualified_name(node, modules))
    if offending:
        raise ConversionError(
            "Cannot convert these ops to spiking equivalents: "
            + "; ".join(offending)
            + f". Supported: {supported_ops_summary()}.",
            offending,
        )
