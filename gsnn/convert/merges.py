"""Residual adds and concatenations under schedules that weight or delay steps."""

from typing import Dict, List, Set

import torch
from torch import fx

from gsnn.convert.depth import depth_per_node
from gsnn.convert.edge_insertion import insert_between
from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import OpRole, qualified_name, role_of
from gsnn.methods import ConversionMethod
from gsnn.nn import SpikeDelay, SynapticLayer


def merges(graph_module: fx.GraphModule) -> List[fx.Node]:
    """The residual adds and concatenations of the graph."""
    modules = dict(graph_module.named_modules())
    return [
        node
        for node in graph_module.graph.nodes
        if node.op in ("call_function", "call_method")
        and role_of(node, modules) is OpRole.ELEMENTWISE
    ]


def check_constant_operands(
    graph_module: fx.GraphModule, neuron_names: Set[str], method: ConversionMethod, T: int
) -> None:
    """Refuse constants added to spike-driven currents under a schedule that adds biases once.

    A merge adds its operands at every simulated step. For rate codes a
    constant there is a bias, added every step, as it should be; methods that
    weight the steps (``bias_gains`` not ``None``: CSS, one-spike, phase)
    would add it at every step instead of once.
    """
    if method.bias_gains(1, method.simulation_steps(1, T)) is None:
        return
    modules = dict(graph_module.named_modules())
    scheduled = set()  # nodes downstream of a synaptic layer or a neuron
    for node in graph_module.graph.nodes:
        is_layer = node.op == "call_module" and (
            node.target in neuron_names or isinstance(modules[node.target], SynapticLayer)
        )
        if is_layer or any(source in scheduled for source in node.all_input_nodes):
            scheduled.add(node)
    problems = []
    for merge in merges(graph_module):
        operands = merge.args[0] if merge.target is torch.cat else merge.args
        constants = [
            operand.name if isinstance(operand, fx.Node) else repr(operand)
            for operand in operands
            if isinstance(operand, (int, float))
            or (isinstance(operand, fx.Node) and operand not in scheduled)
        ]
        if constants:
            problems.append(
                f"{qualified_name(merge, modules)} adds {', '.join(constants)}, which reaches "
                f"it without passing a layer; method '{method.name}' weights its steps and "
                "adds inputs and biases once, so this term would be added at every step. Fold "
                "it into the bias of the layer before the add, or use an online method (rate, "
                "qcfs, burst)"
            )
    if problems:
        raise ConversionError("Cannot convert constant operands: " + "; ".join(problems), problems)


def delay_shallow_branches(
    graph_module: fx.GraphModule,
    neuron_names: Set[str],
    method: ConversionMethod,
    sample_shapes: Dict,
) -> None:
    """Insert a :class:`~gsnn.nn.SpikeDelay` on every merge input that skips spiking layers,
    where the method's schedule asks for one (:meth:`ConversionMethod.branch_delay`)."""
    depth = depth_per_node(graph_module, neuron_names)
    for merge in merges(graph_module):
        deepest = depth[merge]
        for source in merge.all_input_nodes:
            if depth[source] == 0:
                continue  # not downstream of a neuron: nothing to align
            steps = method.branch_delay(deepest - depth[source])
            if steps == 0:
                continue
            name = f"{source.name}_delay_{merge.name}"
            insert_between(graph_module, source, merge, name, SpikeDelay(steps), sample_shapes)
