"""torch.fx tracing with a PyG-aware leaf policy."""

import inspect
from typing import List

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


def positional_parameters(model: nn.Module) -> List[inspect.Parameter]:
    """The parameters of ``model.forward`` that can be passed by position."""
    parameters = inspect.signature(model.forward).parameters.values()
    return [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def trace(model: nn.Module, num_inputs: int) -> fx.GraphModule:
    """Trace ``model`` called with its first ``num_inputs`` positional arguments.

    The remaining parameters of ``forward`` are fixed to their defaults (e.g.
    ``edge_weight=None``, ``batch=None`` in PyG's ``BasicGNN``), so Python
    control flow on them resolves during tracing.

    Raises:
        ConversionError: when the model cannot be traced, with the reason.
    """
    parameters = list(inspect.signature(model.forward).parameters.values())
    positional = positional_parameters(model)
    if len(positional) < num_inputs:
        raise ConversionError(
            f"{type(model).__name__}.forward takes {len(positional)} positional inputs but "
            f"the calibration data supplies {num_inputs}."
        )
    concrete_args = {}
    for parameter in parameters[num_inputs:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is inspect.Parameter.empty:
            raise ConversionError(
                f"{type(model).__name__}.forward needs the argument '{parameter.name}', which "
                "the calibration data does not supply; give it a default or pass it."
            )
        concrete_args[parameter.name] = parameter.default
    tracer = GraphTracer()
    try:
        graph = tracer.trace(model, concrete_args=concrete_args or None)
    except Exception as error:  # fx raises many error types; report them as one
        raise ConversionError(
            f"Could not trace {type(model).__name__} with torch.fx: {error}. Models whose "
            "forward branches on tensor values cannot be converted."
        ) from error
    return fx.GraphModule(tracer.root, graph, type(model).__name__)
