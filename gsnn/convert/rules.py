"""The rule table: which ANN op becomes which spiking op. One place to add a layer."""

import operator
from enum import Enum
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch_geometric.nn import GCNConv, GraphConv, SAGEConv, SGConv
from torch_geometric.nn.norm import BatchNorm as PyGBatchNorm

from gsnn.ann import QCFS, NoisyQC, TClamp, ThresholdReLU
from gsnn.nn import (
    SpikingAvgPool2d,
    SpikingConv2d,
    SpikingGCNConv,
    SpikingGraphConv,
    SpikingLinear,
    SpikingMaxPool2d,
    SpikingSAGEConv,
    SpikingSGConv,
)


class OpRole(Enum):
    """What the converter does with one traced op."""

    SYNAPTIC = "synaptic"  # linear or graph layer: replaced by its spiking version
    ACTIVATION = "activation"  # becomes a neuron (one per call site)
    NORMALISATION = "normalisation"  # batch norm, folded into the preceding synaptic layer
    REMOVED = "removed"  # identity at inference (dropout, nn.Identity)
    ELEMENTWISE = "elementwise"  # kept as is, applied to [T, ...] tensors (residual add, cat)
    STRUCTURAL = "structural"  # weightless pooling or flattening, applied per step
    OUTPUT = "output"  # applied to decoded logits after the readout (log_softmax)
    UNSUPPORTED = "unsupported"


SYNAPTIC_RULES: Dict[type, Callable[[nn.Module], nn.Module]] = {
    nn.Linear: SpikingLinear.from_linear,
    nn.Conv2d: SpikingConv2d.from_conv,
    GCNConv: SpikingGCNConv.from_pyg,
    SGConv: SpikingSGConv.from_pyg,
    SAGEConv: SpikingSAGEConv.from_pyg,
    GraphConv: SpikingGraphConv.from_pyg,
}


def _time_major_flatten(flatten: nn.Flatten) -> nn.Flatten:
    """The same flattening on ``[T, ...]`` tensors: non-negative dims skip the time axis."""
    start, end = flatten.start_dim, flatten.end_dim
    return nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)


# weightless ops that spikes pass through on their way to a weighted layer
STRUCTURAL_RULES: Dict[type, Callable[[nn.Module], nn.Module]] = {
    nn.AvgPool2d: SpikingAvgPool2d,
    nn.AdaptiveAvgPool2d: SpikingAvgPool2d,
    nn.MaxPool2d: SpikingMaxPool2d,
    nn.Flatten: _time_major_flatten,
}
SPIKING_STRUCTURAL_TYPES = (SpikingAvgPool2d, SpikingMaxPool2d, nn.Flatten)
STRUCTURAL_FUNCTIONS = {torch.flatten}
STRUCTURAL_METHODS = {"flatten"}
# functional pooling is rewritten into the module of the same options: (module, argument names)
FUNCTIONAL_POOLS = {
    F.avg_pool2d: (
        nn.AvgPool2d,
        ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    ),
    F.max_pool2d: (
        nn.MaxPool2d,
        ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    ),
    F.adaptive_avg_pool2d: (nn.AdaptiveAvgPool2d, ("output_size",)),
}

ACTIVATION_MODULES = {
    nn.ReLU: "relu",
    ThresholdReLU: "threshold_relu",
    QCFS: "qcfs",
    TClamp: "clip",
    NoisyQC: "noisy_qc",
}
ACTIVATION_FUNCTIONS = {F.relu: "relu", torch.relu: "relu"}
ACTIVATION_METHODS = {"relu": "relu"}

NORMALISATION_MODULES = (nn.BatchNorm1d, nn.BatchNorm2d, PyGBatchNorm)
REMOVED_MODULES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)
REMOVED_FUNCTIONS = {F.dropout, F.dropout1d, F.dropout2d}

ELEMENTWISE_FUNCTIONS = {operator.add, torch.add, torch.cat}
ELEMENTWISE_METHODS = {"add"}
# ops whose dimension arguments must skip the leading time axis: (names in positional
# order after the tensor, default of the first when omitted)
TIME_SHIFTED_DIMS = {
    torch.cat: (("dim",), 0),
    torch.flatten: (("start_dim", "end_dim"), 0),
    "flatten": (("start_dim", "end_dim"), 0),
}

OUTPUT_FUNCTIONS = {F.log_softmax, F.softmax, torch.log_softmax, torch.softmax}
OUTPUT_METHODS = {"log_softmax", "softmax"}


def qualified_name(node: fx.Node, modules: Dict[str, nn.Module]) -> str:
    """A readable name for ``node``: module path and type, or the function's name."""
    if node.op == "call_module":
        module = modules[node.target]
        return f"{node.target} ({type(module).__module__}.{type(module).__qualname__})"
    if node.op == "call_function":
        name = getattr(node.target, "__name__", None)
        for namespace, public in ((torch, "torch"), (F, "torch.nn.functional")):
            if name and getattr(namespace, name, None) is node.target:
                # public alias, not the binding's home (torch._VariableFunctionsClass, torch._C._nn)
                return f"{public}.{name} (at {node.name})"
        module_name = getattr(node.target, "__module__", None) or "builtins"
        return f"{module_name}.{getattr(node.target, '__qualname__', node.target)} (at {node.name})"
    if node.op == "call_method":
        return f"Tensor.{node.target} (at {node.name})"
    return node.name


def role_of(node: fx.Node, modules: Dict[str, nn.Module]) -> OpRole:
    """Classify one ``call_*`` node of a traced model."""
    if node.op == "call_module":
        module = modules[node.target]
        if type(module) in SYNAPTIC_RULES:
            return OpRole.SYNAPTIC
        if type(module) in ACTIVATION_MODULES:
            return OpRole.ACTIVATION
        if isinstance(module, NORMALISATION_MODULES):
            return OpRole.NORMALISATION
        if isinstance(module, REMOVED_MODULES):
            return OpRole.REMOVED
        if type(module) in STRUCTURAL_RULES or isinstance(module, SPIKING_STRUCTURAL_TYPES):
            return OpRole.STRUCTURAL
        return OpRole.UNSUPPORTED
    if node.op == "call_function":
        if node.target in ACTIVATION_FUNCTIONS:
            return OpRole.ACTIVATION
        if node.target in REMOVED_FUNCTIONS:
            return OpRole.REMOVED
        if node.target in ELEMENTWISE_FUNCTIONS:
            return OpRole.ELEMENTWISE
        if node.target in OUTPUT_FUNCTIONS:
            return OpRole.OUTPUT
        if node.target in STRUCTURAL_FUNCTIONS:
            return OpRole.STRUCTURAL
        return OpRole.UNSUPPORTED
    if node.op == "call_method":
        if node.target in ACTIVATION_METHODS:
            return OpRole.ACTIVATION
        if node.target in ELEMENTWISE_METHODS:
            return OpRole.ELEMENTWISE
        if node.target in OUTPUT_METHODS:
            return OpRole.OUTPUT
        if node.target in STRUCTURAL_METHODS:
            return OpRole.STRUCTURAL
        return OpRole.UNSUPPORTED
    raise ValueError(f"role_of expects a call node, got op {node.op!r}")


def activation_kind(node: fx.Node, modules: Dict[str, nn.Module]) -> Optional[str]:
    """``"relu"``, ``"threshold_relu"`` or ``"qcfs"`` for an activation node."""
    if node.op == "call_module":
        return ACTIVATION_MODULES.get(type(modules[node.target]))
    if node.op == "call_function":
        return ACTIVATION_FUNCTIONS.get(node.target)
    return ACTIVATION_METHODS.get(node.target)


def supported_ops_summary() -> str:
    """The list of supported ops, for error messages."""
    names = [cls.__name__ for cls in SYNAPTIC_RULES]
    names += [cls.__name__ for cls in ACTIVATION_MODULES]
    names += ["F.relu", "torch.relu", "Tensor.relu()"]
    names += ["BatchNorm1d / BatchNorm2d (after a linear, graph or conv layer)"]
    names += ["AvgPool2d", "AdaptiveAvgPool2d", "MaxPool2d (after an activation)"]
    names += ["F.avg_pool2d", "F.max_pool2d", "F.adaptive_avg_pool2d"]
    names += ["nn.Flatten", "torch.flatten / Tensor.flatten (not view/reshape)"]
    names += ["Dropout (1d/2d)", "Identity", "F.dropout", "+ / torch.add", "torch.cat"]
    names += ["log_softmax / softmax (on the output only)"]
    return ", ".join(names)
