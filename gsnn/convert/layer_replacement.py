"""Replacing every ANN layer that has a registered rule by its spiking module."""

from typing import Dict

from torch import fx

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import qualified_name
from gsnn.nn.registry import rule_for
from gsnn.nn.structural_op import StructuralOp


def replace_layers(graph_module: fx.GraphModule) -> None:
    """Swap each registered ANN module for ``rule.from_ann(module)``, in place.

    A weighted layer may be called once (its spiking copy receives the
    thresholds of the neurons feeding that call). A weightless structural op
    may serve several call sites; a stateful one gets its own copy per site.

    Raises:
        ConversionError: naming every layer whose options cannot convert or
            that is called more than once.
    """
    modules = dict(graph_module.named_modules())  # the ANN modules, also at later call sites
    calls: Dict[str, int] = {}
    failures = []
    for node in graph_module.graph.nodes:
        if node.op != "call_module":
            continue
        rule = rule_for(modules[node.target])
        if rule is None:
            continue
        calls[node.target] = calls.get(node.target, 0) + 1
        structural = issubclass(rule, StructuralOp)
        if calls[node.target] > 1 and not structural:
            failures.append(f"{node.target} is called more than once (share weights by copying)")
            continue
        try:
            spiking = rule.from_ann(modules[node.target])
        except ValueError as error:
            failures.append(f"{qualified_name(node, modules)}: {error}")
            continue
        if calls[node.target] == 1:
            if not structural:
                spiking.receives_spikes = False  # until a neuron or a spike code feeds it
            graph_module.delete_submodule(node.target)
            graph_module.add_submodule(node.target, spiking)
        elif spiking.stateful:  # state streamed across chunks: one instance per call site
            name = f"{node.target}_call{calls[node.target]}".replace(".", "_")
            graph_module.add_submodule(name, spiking)
            node.target = name
    if failures:
        raise ConversionError("Cannot convert: " + "; ".join(failures), failures)
