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


def modularise_sequential_readouts(model: nn.Module) -> None:
    """Give the ``global_*_pool`` steps of PyG ``Sequential`` containers their aggregation
    module (``MeanAggregation`` for ``global_mean_pool``), in place.

    ``Sequential`` keeps a function step as a plain attribute and calls it as
    ``self.module_2(x, batch)``, out of the tracer's reach; the module takes the same
    call.
    """
    for container in model.modules():
        if not isinstance(container, torch_geometric.nn.Sequential):
            continue
        for child in container._children:
            step = container.__dict__.get(child.name)
            if step in GLOBAL_POOLS:
                del container.__dict__[child.name]
                setattr(container, child.name, GLOBAL_POOLS[step]())


def _module_call(module: nn.Module, *args, **kwargs):
    return nn.Module.__call__(module, *args, **kwargs)


def trace_with_fixed_arguments(model: nn.Module, fixed: Dict[str, Any]) -> fx.GraphModule:
    """Trace ``model`` with the parameters in ``fixed`` specialised to those values; every
    other forward parameter becomes a placeholder.

    Raises:
        ConversionError: when the model cannot be traced, with the reason.
    """
    modularise_sequential_readouts(model)
    tracer = GraphTracer()
    try:
        graph = tracer.trace(model, concrete_args=fixed or None)
    except Exception as error:  # fx raises many error types; report them as one
        raise ConversionError(
            f"Could not trace {type(model).__name__} with torch.fx: {error}. Models whose "
            "forward branches on tensor values cannot be converted."
        ) from error
    return fx.GraphModule(tracer.root, graph, type(model).__name__)
