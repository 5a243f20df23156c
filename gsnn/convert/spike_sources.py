"""Which synaptic layers read spikes of neurons, and which read the coded input."""

from typing import Dict, Set

from torch import fx

from gsnn.convert.threshold_folding import is_structural
from gsnn.nn import SynapticLayer


def gain_sources(graph_module: fx.GraphModule, neuron_names: Set[str]) -> Dict[str, str]:
    """For every synaptic layer fed directly by neurons (``"spikes"``) or by the network
    input (``"input"``), which one; the method sets their step gains per ``T``."""
    sources = {}
    modules = dict(graph_module.named_modules())
    for node in graph_module.graph.nodes:
        if node.op != "call_module" or node.target in neuron_names:
            continue
        if not isinstance(modules[node.target], SynapticLayer):
            continue
        feeder = node.args[0]
        while isinstance(feeder, fx.Node) and is_structural(feeder, modules.get(feeder.target)):
            feeder = feeder.args[0]
        if isinstance(feeder, fx.Node) and feeder.op == "placeholder":
            sources[node.target] = "input"
        elif isinstance(feeder, fx.Node) and feeder.target in neuron_names:
            sources[node.target] = "spikes"
    return sources


def mark_spike_input(graph_module: fx.GraphModule) -> None:
    """Layers reading the coded input directly receive spikes (non-analog coding)."""
    first_input = next(n for n in graph_module.graph.nodes if n.op == "placeholder")
    for user in first_input.users:
        if user.op == "call_module":
            graph_module.get_submodule(user.target).receives_spikes = True
