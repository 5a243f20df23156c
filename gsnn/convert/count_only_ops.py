"""Ops that are exact on spike counts only (max pooling of running counts)."""

from typing import Set

from torch import fx

from gsnn.convert.errors import ConversionError
from gsnn.methods import ConversionMethod
from gsnn.nn import OneToOneSynapse
from gsnn.nn.structural_op import StructuralOp


def check_count_only_ops(
    graph_module: fx.GraphModule, neuron_names: Set[str], method: ConversionMethod
) -> None:
    """Max-type ops are exact on the spike counts of a neuron population, and nowhere else.

    Raises:
        ConversionError: such an op receives currents, or the method weights its
            spikes by time (its spike values are not their counts).
    """
    modules = dict(graph_module.named_modules())
    problems = []
    for node in graph_module.graph.nodes:
        module = modules.get(node.target) if node.op == "call_module" else None
        if not (isinstance(module, StructuralOp) and module.exact_for_counts_only):
            continue
        source = node.args[0]
        if isinstance(modules.get(getattr(source, "target", None)), OneToOneSynapse):
            source = source.args[0]  # weighted spikes on their way to an add or the output
        if not (isinstance(source, fx.Node) and source.target in neuron_names):
            problems.append(
                f"{node.target}: max pooling of currents has no exact spiking form; apply it "
                "after the activation (for ReLU-like activations both orders give the same ANN)"
            )
        elif not method.exact_max_pool:
            problems.append(
                f"{node.target}: method '{method.name}' weights its spikes by time, so a "
                "spike's value is not its count and max pooling is not exact; use AvgPool2d "
                "(or a count-coded method such as qcfs, two-phase or one-spike)"
            )
    if problems:
        raise ConversionError("Cannot convert max pooling: " + "; ".join(problems), problems)
