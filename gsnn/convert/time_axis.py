"""Dimension arguments of functional ops skip the leading time axis of ``[T, ...]``."""

from torch import fx

from gsnn.convert.rules import TIME_SHIFTED_DIMS


def shift_time_dims(graph_module: fx.GraphModule) -> None:
    """Add one to the non-negative dimension arguments of ``cat`` and ``flatten``."""
    for node in graph_module.graph.nodes:
        if node.op not in ("call_function", "call_method"):
            continue
        if node.target not in TIME_SHIFTED_DIMS:
            continue
        names, default = TIME_SHIFTED_DIMS[node.target]
        for position, name in enumerate(names, start=1):
            if name in node.kwargs:
                if node.kwargs[name] >= 0:
                    node.update_kwarg(name, node.kwargs[name] + 1)
            elif len(node.args) > position:
                if node.args[position] >= 0:
                    node.update_arg(position, node.args[position] + 1)
            elif position == 1:
                node.update_kwarg(name, default + 1)
