"""torch.fx tracing with a PyG-aware leaf policy."""

from typing import Any, Dict, Optional

import torch_geometric.nn
import torch_geometric.nn.pool
from torch import fx, nn
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.aggr import Aggregation

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import (
    ACTIVATION_MODULES,
    GLOBAL_POOLS,
    NORMALISATION_MODULES,
    READOUT_FIX,
    UNCONVERTIBLE_READOUTS,
)
from gsnn.nn.registry import rule_for


class GraphTracer(fx.Tracer):
    """Keeps message-passing layers, aggregations, registered layers, torch layers and gsnn
    activations as leaves, and PyG's ``global_*_pool`` functions as single calls.

    PyG's ``MessagePassing.propagate`` is not traceable and need not be: the
    whole layer is one op that the rule table maps to a spiking layer. PyG's
    readouts branch on their arguments (``if batch is None``), so they are
    recorded as one call whether the model imported them
    (``from torch_geometric.nn import global_mean_pool``) or reads them from the
    package (``torch_geometric.nn.global_mean_pool``); the normaliser then
    rewrites them into their aggregation modules.
    """

    def __init__(self) -> None:
        readouts = [f for f in (*GLOBAL_POOLS, *UNCONVERTIBLE_READOUTS) if not isinstance(f, type)]
        super().__init__(autowrap_functions=tuple(readouts))
        self._autowrap_search.extend([torch_geometric.nn, torch_geometric.nn.pool])

    def trace(self, root: nn.Module, concrete_args: Optional[Dict[str, Any]] = None) -> fx.Graph:
        # Aggregation overrides nn.Module.__call__, which fx patches to record leaf calls;
        # routing it back through nn.Module.__call__ records aggregations like other leaves
        aggregation_call = Aggregation.__call__
        Aggregation.__call__ = _module_call
        try:
            return super().trace(root, concrete_args)
        finally:
            Aggregation.__call__ = aggregation_call

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        if isinstance(module, (MessagePassing, Aggregation, *NORMALISATION_MODULES)):
            return True
        if type(module) in ACTIVATION_MODULES or rule_for(module) is not None:
            return True
        return super().is_leaf_module(module, qualified_name)


class ReadoutFunction(nn.Module):
    """A ``global_*_pool`` function kept as a model attribute, as the aggregation module
    it is the functional form of: ``readout(x, batch, size)`` calls
    ``aggregation(x, batch, dim_size=size)``.

    Shapes:
        - **input:** node features :math:`(N, F)`, batch vector :math:`(N)`
        - **output:** graph features :math:`(B, F)`
    """

    def __init__(self, function) -> None:
        super().__init__()
        self.aggregation = GLOBAL_POOLS[function]()

    def forward(self, x, batch=None, size=None):
        if size is None:
            return self.aggregation(x, batch)
        return self.aggregation(x, batch, dim_size=size)


def modularise_readout_attributes(model: nn.Module) -> None:
    """Turn readout functions held as module attributes into modules, in place.

    A model that stores ``self.pool = global_add_pool`` (or a PyG ``Sequential``,
    which keeps a function step as a plain attribute) calls it as ``self.pool(x,
    batch)``, out of the tracer's reach, and PyG's readout then branches on a traced
    value. Such an attribute becomes a :class:`ReadoutFunction`, which traces like
    the aggregation module.

    Raises:
        ConversionError: an attribute holds a readout with no spiking form
            (``global_sort_pool``), naming the attribute and why.
    """
    for path, module in model.named_modules():
        for name, value in list(vars(module).items()):
            if any(value is function for function in GLOBAL_POOLS):
                del module.__dict__[name]
                setattr(module, name, ReadoutFunction(value))
            elif not isinstance(value, type) and any(
                value is readout for readout in UNCONVERTIBLE_READOUTS
            ):
                attribute = f"{path}.{name}" if path else name
                raise ConversionError(
                    f"Cannot convert {type(model).__name__}: its attribute {attribute!r} holds "
                    f"{value.__name__}, and {UNCONVERTIBLE_READOUTS[value]}; {READOUT_FIX}.",
                    [f"{attribute} ({value.__module__}.{value.__name__})"],
                )


def _module_call(module: nn.Module, *args, **kwargs):
    return nn.Module.__call__(module, *args, **kwargs)


def trace_with_fixed_arguments(model: nn.Module, fixed: Dict[str, Any]) -> fx.GraphModule:
    """Trace ``model`` with the parameters in ``fixed`` specialised to those values; every
    other forward parameter becomes a placeholder.

    Raises:
        ConversionError: when the model cannot be traced, with the reason.
    """
    modularise_readout_attributes(model)
    tracer = GraphTracer()
    try:
        graph = tracer.trace(model, concrete_args=fixed or None)
    except Exception as error:  # fx raises many error types; report them as one
        raise ConversionError(
            f"Could not trace {type(model).__name__} with torch.fx: {error}. Models whose "
            "forward branches on tensor values cannot be converted."
        ) from error
    return fx.GraphModule(tracer.root, graph, type(model).__name__)
