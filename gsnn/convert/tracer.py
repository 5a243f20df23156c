"""torch.fx tracing with a PyG-aware leaf policy."""

from typing import Any, Dict

from torch import fx, nn
from torch_geometric.nn import MessagePassing

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import ACTIVATION_MODULES, NORMALISATION_MODULES
from gsnn.nn.registry import rule_for


class GraphTracer(fx.Tracer):
    """Keeps message-passing layers, registered layers, torch layers and gsnn activations
    as leaves.

    PyG's ``MessagePassing.propagate`` is not traceable and need not be: the
    whole layer is one op that the rule table maps to a spiking layer.
    """

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        if isinstance(module, (MessagePassing, *NORMALISATION_MODULES)):
            return True
        if type(module) in ACTIVATION_MODULES or rule_for(module) is not None:
            return True
        return super().is_leaf_module(module, qualified_name)


def trace_with_fixed_arguments(model: nn.Module, fixed: Dict[str, Any]) -> fx.GraphModule:
    """Trace ``model`` with the parameters in ``fixed`` specialised to those values; every
    other forward parameter becomes a placeholder.

    Raises:
        ConversionError: when the model cannot be traced, with the reason.
    """
    tracer = GraphTracer()
    try:
        graph = tracer.trace(model, concrete_args=fixed or None)
    except Exception as error:  # fx raises many error types; report them as one
        raise ConversionError(
            f"Could not trace {type(model).__name__} with torch.fx: {error}. Models whose "
            "forward branches on tensor values cannot be converted."
        ) from error
    return fx.GraphModule(tracer.root, graph, type(model).__name__)
