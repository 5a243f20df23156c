"""Ops that are exact on spike counts only (maxima of running counts)."""

from typing import Set

from torch import fx

from gsnn.convert.errors import ConversionError
from gsnn.methods import ConversionMethod
from gsnn.nn import OneToOneSynapse
from gsnn.nn.running_count_max import RunningCountMax


def check_count_only_ops(
    graph_module: fx.GraphModule, neuron_names: Set[str], method: ConversionMethod
) -> None:
    """Max-type ops (max pooling, max aggregation inside a graph layer, jumping knowledge
    ``"max"``) are exact on the spike counts of neurons or of the network input, and
    nowhere else.

    Raises:
        ConversionError: such an op receives currents, or the method weights its
            spikes by time (its spike values are not their counts).
    """
    modules = dict(graph_module.named_modules())
    problems = []
    for node in graph_module.graph.nodes:
        module = modules.get(node.target) if node.op == "call_module" else None
        if module is None:
            continue
        count_only = [
            op
            for op in module.modules()
            if isinstance(op, RunningCountMax) and op.exact_for_counts_only
        ]
        if not count_only:
            continue
        operation, alternative = count_only[0].operation, count_only[0].linear_alternative
        sources = []
        for source in node.all_input_nodes:
            if isinstance(modules.get(getattr(source, "target", None)), OneToOneSynapse):
                source = source.args[0]  # weighted spikes on their way to an add or the output
            sources.append(source)
        # the network input is analog (a constant current, whose running sum t x has the
        # max t max(x)) or spike-coded; either is exact
        if not all(s.op == "placeholder" or s.target in neuron_names for s in sources):
            problems.append(
                f"{node.target}: {operation} of currents has no exact spiking form; apply it "
                "after the activation (for ReLU-like activations both orders give the same ANN)"
            )
        elif not method.exact_max_pool:
            problems.append(
                f"{node.target}: method '{method.name}' weights its spikes by time, so a "
                f"spike's value is not its count and {operation} is not exact; use "
                f"{alternative} (or a count-coded method such as qcfs, rate, two-phase or "
                "one-spike)"
            )
    if problems:
        raise ConversionError("Cannot convert max operations: " + "; ".join(problems), problems)
