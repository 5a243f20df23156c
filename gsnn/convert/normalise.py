"""Normalisation of a traced ANN: inference-only ops removed, every op classified."""

from typing import Dict, List, Optional, Tuple

import torch
import torch_geometric.nn as pyg_nn
from torch import fx, nn

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import (
    FUNCTIONAL_POOLS,
    GLOBAL_POOLS,
    READOUT_FIX,
    UNCONVERTIBLE_READOUTS,
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


def modularise_global_pools(graph_module: fx.GraphModule) -> None:
    """Rewrite PyG's ``global_add_pool(x, batch, size)`` (and the mean and max readouts) into
    a call ``aggregation(x, batch, dim_size=size)`` of the aggregation module it is the
    functional form of (``SumAggregation``, ``MeanAggregation``, ``MaxAggregation``).

    The rule table then handles readouts written as functions and as modules alike.
    """
    for index, node in enumerate(list(graph_module.graph.nodes)):
        if node.op != "call_function" or node.target not in GLOBAL_POOLS:
            continue
        arguments = dict(zip(("x", "batch", "size"), node.args))
        arguments.update(node.kwargs)
        name = f"global_pool_{index}"
        graph_module.add_submodule(name, GLOBAL_POOLS[node.target]())
        kwargs = {"dim_size": arguments["size"]} if arguments.get("size") is not None else {}
        with graph_module.graph.inserting_after(node):
            pool = graph_module.graph.call_module(
                name, (arguments["x"], arguments.get("batch")), kwargs
            )
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


_ATTENTION = (
    "its attention coefficients are a softmax of its inputs, so the layer is not linear in "
    "them and spike counts cannot carry it; train a linear conv (GCNConv, SAGEConv, ...) instead"
)
# PyG and torch modules that are not linear in their input, and why (the refusal says so)
NONLINEAR_MODULE_REASONS = {
    pyg_nn.GATConv: _ATTENTION,
    pyg_nn.GATv2Conv: _ATTENTION,
    pyg_nn.TransformerConv: _ATTENTION,
    pyg_nn.SuperGATConv: _ATTENTION,
    pyg_nn.AGNNConv: _ATTENTION,
    pyg_nn.PNAConv: (
        "its min / max / std aggregators and degree scalers are not linear in its input"
    ),
    pyg_nn.LayerNorm: "it divides each sample by its own spread, which is not linear in it",
    nn.LayerNorm: "it divides each sample by its own spread, which is not linear in it",
    nn.LSTM: "a recurrent cell multiplies gates of its input, which is not linear in it",
    nn.GRU: "a recurrent cell multiplies gates of its input, which is not linear in it",
}


def _user_module(node: fx.Node) -> Optional[Tuple[str, type]]:
    """The innermost module of the user's model that ``node`` was traced through (fx's
    ``nn_module_stack``), or ``None`` for an op written in the model's own forward."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return None
    path, module_type = list(stack.values())[-1]
    return path, module_type


def _unsupported_fix(node: fx.Node, modules: Dict[str, nn.Module]):
    """Why ``node`` does not convert and what to do instead, where known."""
    if node.op == "call_module":
        module = modules[node.target]
        for readout, reason in UNCONVERTIBLE_READOUTS.items():
            if isinstance(readout, type) and isinstance(module, readout):
                return f"{reason}; {READOUT_FIX}"
        return NONLINEAR_MODULE_REASONS.get(type(module))
    if node.target in UNCONVERTIBLE_READOUTS:
        return f"{UNCONVERTIBLE_READOUTS[node.target]}; {READOUT_FIX}"
    return UNSUPPORTED_OP_FIXES.get(node.target)


def check_supported(graph_module: fx.GraphModule) -> None:
    """Raise one :class:`ConversionError` naming every op gsnn cannot convert.

    Ops that tracing found inside a module of the user's model (a
    ``JumpingKnowledge``, a custom block) are reported as that module, by path and
    class, with the primitives it was traced into, rather than as bare primitives.
    """
    modules: Dict[str, nn.Module] = dict(graph_module.named_modules())
    offending: List[str] = []
    described: List[str] = []
    inside: Dict[Tuple[str, type], List[str]] = {}
    for node in graph_module.graph.nodes:
        if not (node.op.startswith("call") and role_of(node, modules) is OpRole.UNSUPPORTED):
            continue
        name = qualified_name(node, modules)
        owner = _user_module(node) if node.op != "call_module" else None
        if owner is not None:
            inside.setdefault(owner, []).append(name.split(" (at ")[0])
            continue
        fix = _unsupported_fix(node, modules)
        offending.append(name)
        described.append(f"{name}: {fix}" if fix else name)
    for (path, module_type), primitives in inside.items():
        name = f"{path} ({module_type.__module__}.{module_type.__qualname__})"
        offending.append(name)
        described.append(
            f"{name}, which has no conversion rule; tracing into it found "
            f"{', '.join(dict.fromkeys(primitives))}"
        )
    if offending:
        raise ConversionError(
            "Cannot convert these ops to spiking equivalents: "
            + "; ".join(described)
            + ". gsnn.supported_ops() lists what converts; docs/supported_ops.md explains it.",
            offending,
        )
