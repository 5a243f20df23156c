"""Binding what a user passes to the forward parameters of the model, by name.

A converted network has its ANN's forward signature: ``snn(x, edge_index)``,
``snn(x, edge_index, edge_weight)``, ``snn(data)``, ``snn(x, adj_t)`` or
``snn(x, edge_index, batch)``, whatever the ANN takes. Calibration data is
bound the same way: a PyG ``Data`` fills each forward parameter from the
attribute of the same name (a parameter named ``data``, or annotated as
``Data``, receives the whole object); a tuple fills them by position. An
argument that cannot be supplied, or a graph input of the ``Data`` that no
parameter receives, is an error that names it: nothing is dropped.

The spiking body itself takes plain tensors, the node or image features first.
:class:`InputBinding` turns a call with the ANN's signature into the body's
inputs.
"""

import inspect
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from torch import fx, nn
from torch_geometric.data import Data

from gsnn.convert.errors import ConversionError
from gsnn.convert.tracer import trace_with_fixed_arguments

# attributes of a ``Data`` that carry model inputs (not labels or masks): one that no
# forward parameter receives would be silently dropped, so it is an error instead
GRAPH_INPUT_ATTRIBUTES = ("edge_weight", "edge_attr", "adj_t")
# the attribute holding the features, which the coder encodes, when a model takes ``data``
FEATURE_ATTRIBUTE = "x"
PARAMETER_KINDS = tuple(kind.name for kind in inspect._ParameterKind)


@dataclass
class ModelCall:
    """One call of the ANN: ``model(*args, **kwargs)``."""

    args: tuple = ()
    kwargs: Dict[str, Any] = field(default_factory=dict)

    def run(self, model: nn.Module):
        return model(*self.args, **self.kwargs)


@dataclass(frozen=True)
class BodyInput:
    """Where one input of the spiking body comes from: a forward parameter, or an
    attribute of the object a parameter receives (``data.x``)."""

    parameter: str
    attribute: Optional[str] = None


def forward_parameters(model: nn.Module) -> List[inspect.Parameter]:
    """The parameters of ``model.forward`` that can receive inputs (no ``*args``)."""
    return [
        p
        for p in inspect.signature(model.forward).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def receives_whole_data(parameter: inspect.Parameter) -> bool:
    """``forward(self, data)``: the parameter takes the whole ``Data`` object."""
    annotation = parameter.annotation
    if isinstance(annotation, type) and issubclass(annotation, Data):
        return True
    return parameter.name == "data" or annotation in ("Data", "Batch")


def bind_data(data: Data, model: nn.Module) -> ModelCall:
    """The call ``model(...)`` that ``data`` stands for, bound by parameter name.

    Raises:
        ValueError: a required parameter has no attribute of its name in ``data``,
            or a graph input of ``data`` (``edge_weight``, ``edge_attr``, ``adj_t``,
            the ``batch`` of several graphs) would reach no parameter.
    """
    kwargs: Dict[str, Any] = {}
    name = type(model).__name__
    for parameter in forward_parameters(model):
        if receives_whole_data(parameter):
            kwargs[parameter.name] = data
            return ModelCall(kwargs=kwargs)
        value = getattr(data, parameter.name, None)
        if value is not None:
            kwargs[parameter.name] = value
        elif parameter.default is inspect.Parameter.empty:
            held = ", ".join(data.keys())
            raise ValueError(
                f"{name}.forward needs '{parameter.name}', which the calibration Data does not "
                f"have (it holds {held}); store it as data.{parameter.name} or pass the model's "
                "inputs as a tuple."
            )
    unbound = [key for key in GRAPH_INPUT_ATTRIBUTES if getattr(data, key, None) is not None]
    edge_attr = getattr(data, "edge_attr", None)
    if edge_attr is not None and edge_attr.dim() > 1:
        # edge features of several columns (MUTAG's bond types) cannot be edge weights, and
        # no parameter of this model takes them: they are not an input it could be given
        unbound.remove("edge_attr")
    if getattr(data, "num_graphs", 1) > 1 and getattr(data, "batch", None) is not None:
        unbound.append("batch")
    unbound = [key for key in unbound if key not in kwargs]
    if unbound:
        taken = ", ".join(p.name for p in forward_parameters(model))
        raise ValueError(
            f"The calibration Data holds {', '.join('data.' + k for k in unbound)}, but "
            f"{name}.forward({taken}) has no parameter of that name, so it would be dropped "
            "without a word. Pass the inputs the model takes as a tuple, e.g. "
            "(data.x, data.edge_index, data.edge_attr), or store them under the parameter's "
            "name (data.edge_weight = data.edge_attr)."
        )
    return ModelCall(kwargs=kwargs)


def bind_positional(inputs: tuple, model: nn.Module) -> ModelCall:
    """A tuple of inputs, given by position."""
    parameters = forward_parameters(model)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(inputs) > len(positional):
        raise ValueError(
            f"{type(model).__name__}.forward takes {len(positional)} positional inputs "
            f"({', '.join(p.name for p in positional)}) but the calibration data supplies "
            f"{len(inputs)}."
        )
    return ModelCall(args=tuple(inputs))


class InputBinding:
    """Turns a call with the ANN's forward signature into the spiking body's inputs.

    Its state is plain values (names, kinds, defaults), so a saved network
    (:func:`gsnn.save`) keeps it without pickling the model's code.

    Args:
        model_name (str): the ANN's class name, for messages.
        signature (inspect.Signature): the ANN's forward signature.
        body_inputs (list of BodyInput): where each input of the body comes from,
            the features first.
        fixed (dict): parameters that were not traced but fixed to their defaults
            (e.g. ``edge_weight=None``); a call that passes another value is refused.
    """

    def __init__(
        self,
        model_name: str,
        signature: inspect.Signature,
        body_inputs: List[BodyInput],
        fixed: Dict[str, Any],
    ) -> None:
        self.model_name = model_name
        self.parameters = [
            [
                p.name,
                p.kind.name,
                p.default is not p.empty,
                None if p.default is p.empty else p.default,
            ]
            for p in signature.parameters.values()
        ]
        self.body_inputs = list(body_inputs)
        self.fixed = dict(fixed)

    @property
    def signature(self) -> inspect.Signature:
        """The ANN's forward signature (names, kinds and defaults; no annotations)."""
        unknown = [kind for _, kind, _, _ in self.parameters if kind not in PARAMETER_KINDS]
        if unknown:  # a loaded file names the kinds: only the five of inspect count
            raise ValueError(f"Unknown parameter kinds {unknown}; expected {PARAMETER_KINDS}.")
        return inspect.Signature(
            [
                inspect.Parameter(name, getattr(inspect.Parameter, kind), default=default)
                if has_default
                else inspect.Parameter(name, getattr(inspect.Parameter, kind))
                for name, kind, has_default, default in self.parameters
            ]
        )

    def __call__(self, *args, **kwargs) -> Tuple:
        signature = self.signature
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise ValueError(
                f"The network is called like {self.model_name}.forward{signature}: {error}."
            ) from error
        for name, default in self.fixed.items():
            if name in bound.arguments and not _is_default(bound.arguments[name], default):
                raise ValueError(
                    f"The network was converted with {name}={default!r} (the calibration data "
                    f"had no '{name}'), so it cannot honour the {name} passed now; convert "
                    f"with calibration data that holds it."
                )
        values = []
        for source in self.body_inputs:
            if source.parameter not in bound.arguments:
                raise ValueError(
                    f"The network was converted with '{source.parameter}' given, so it needs it "
                    f"on every call of {self.model_name}.forward{signature}."
                )
            value = bound.arguments[source.parameter]
            if source.attribute is not None:
                value = getattr(value, source.attribute, None)
                if value is None:
                    raise ValueError(
                        f"{self.model_name}.forward reads {source.parameter}."
                        f"{source.attribute}, which the {source.parameter} passed does not "
                        "hold."
                    )
            values.append(value)
        return tuple(values)

    def __repr__(self) -> str:
        return f"InputBinding({self.model_name}.forward{self.signature})"


def _is_default(value: Any, default: Any) -> bool:
    """``value`` is the default a parameter was fixed to while tracing."""
    if value is default:
        return True
    plain = (bool, int, float, str)
    return isinstance(value, plain) and type(value) is type(default) and value == default


def _placeholder(graph_module: fx.GraphModule, parameter: str) -> fx.Node:
    """The placeholder node of forward parameter ``parameter``."""
    return next(
        n for n in graph_module.graph.nodes if n.op == "placeholder" and n.target == parameter
    )


def split_data_placeholder(
    graph_module: fx.GraphModule, parameter: str
) -> List[Tuple[str, fx.Node]]:
    """Replace the placeholder of a whole-``Data`` parameter by one placeholder per attribute
    the model reads (``data.x``, ``data.edge_index``); return ``(attribute, node)`` pairs.

    Raises:
        ConversionError: the model uses ``data`` other than by reading attributes.
    """
    graph = graph_module.graph
    placeholder = _placeholder(graph_module, parameter)
    attributes: List[str] = []
    for user in list(placeholder.users):
        if not (user.op == "call_function" and user.target is getattr and len(user.args) == 2):
            raise ConversionError(
                f"forward uses '{parameter}' in {user.op} {user.target!r}; a converted model may "
                f"only read attributes of it ({parameter}.x, {parameter}.edge_index, ...).",
                [str(user.target)],
            )
        if user.args[1] not in attributes:
            attributes.append(user.args[1])
    with graph.inserting_before(placeholder):
        replacement = {name: graph.placeholder(name) for name in attributes}
    for user in list(placeholder.users):
        user.replace_all_uses_with(replacement[user.args[1]])
        graph.erase_node(user)
    graph.erase_node(placeholder)
    return list(replacement.items())


def call_features(model: nn.Module, call: ModelCall):
    """The features ``call`` passes (the body's first input): ``data.x`` for a whole-``Data``
    parameter, else the first argument given."""
    bound = _bind(model, call)
    if not bound.arguments:
        raise ConversionError(f"{type(model).__name__}.forward receives no inputs to convert.")
    first = next(iter(bound.arguments.values()))
    return getattr(first, FEATURE_ATTRIBUTE, None) if isinstance(first, Data) else first


def _bind(model: nn.Module, call: ModelCall) -> inspect.BoundArguments:
    signature = inspect.signature(model.forward)
    try:
        return signature.bind(*call.args, **call.kwargs)
    except TypeError as error:
        raise ConversionError(
            f"{type(model).__name__}.forward{signature} cannot take the calibration data: {error}."
        ) from error


def fixed_arguments(model: nn.Module, call: ModelCall) -> Dict[str, Any]:
    """The forward parameters ``call`` does not supply, with the defaults they are fixed to
    while tracing (e.g. ``edge_weight=None``, ``batch=None`` in PyG's ``BasicGNN``), so
    Python control flow on them resolves.

    Raises:
        ConversionError: a parameter without a default is not supplied.
    """
    given = _bind(model, call).arguments
    fixed = {}
    for parameter in forward_parameters(model):
        if parameter.name in given:
            continue
        if parameter.default is inspect.Parameter.empty:
            raise ConversionError(
                f"{type(model).__name__}.forward needs the argument '{parameter.name}', which "
                "the calibration data does not supply; give it a default or pass it."
            )
        fixed[parameter.name] = parameter.default
    return fixed


def trace_call(model: nn.Module, call: ModelCall) -> Tuple[fx.GraphModule, InputBinding]:
    """Trace ``model`` as ``call`` calls it; return the graph (plain tensor placeholders,
    the features first) and the binding from the ANN's signature to its inputs.

    Parameters the call does not supply are fixed to their defaults during
    tracing (e.g. ``edge_weight=None``, ``batch=None`` in PyG's ``BasicGNN``), so
    Python control flow on them resolves.
    """
    signature = inspect.signature(model.forward)
    bound = _bind(model, call)
    traced = list(bound.arguments)
    fixed = fixed_arguments(model, call)
    graph_module = trace_with_fixed_arguments(model, fixed)
    body_inputs: List[BodyInput] = []
    nodes: List[fx.Node] = []
    for name in traced:
        if isinstance(bound.arguments[name], Data):
            for attribute, node in split_data_placeholder(graph_module, name):
                body_inputs.append(BodyInput(name, attribute))
                nodes.append(node)
        else:
            body_inputs.append(BodyInput(name))
            nodes.append(_placeholder(graph_module, name))
    if not body_inputs:
        raise ConversionError(f"{type(model).__name__}.forward receives no inputs to convert.")
    first = next((i for i, b in enumerate(body_inputs) if b.attribute == FEATURE_ATTRIBUTE), 0)
    body_inputs.insert(0, body_inputs.pop(first))
    placeholders = [n for n in graph_module.graph.nodes if n.op == "placeholder"]
    if placeholders[0] is not nodes[first]:
        placeholders[0].prepend(nodes[first])  # the coder encodes the body's first input
    graph_module.graph.lint()
    graph_module.recompile()
    binding = InputBinding(type(model).__name__, signature, body_inputs, fixed)
    return graph_module, binding
