"""The rule table: which ANN op becomes which spiking op. One place to add a layer."""

import operator
from enum import Enum
from typing import Callable, Dict, Optional

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch_geometric.nn import GCNConv, GraphConv, SAGEConv, SGConv
from torch_geometric.nn.norm import BatchNorm as PyGBatchNorm

from gsnn.ann import QCFS, ThresholdReLU
from gsnn.nn import SpikingGCNConv, SpikingGraphConv, SpikingLinear, SpikingSAGEConv, SpikingSGConv


class OpRole(Enum):
    """What the converter does with one traced op."""

    SYNAPTIC = "synaptic"  # linear or graph layer: replaced by its spiking version
    ACTIVATION = "activation"  # becomes a neuron (one per call site)
    NORMALISATION = "normalisation"  # batch norm, folded into the preceding synaptic layer
    REMOVED = "removed"  # identity at inference (dropout, nn.Identity)
    ELEMENTWISE = "elementwise"  # kept as is, applied to [T, ...] tensors (residual add, cat)
    OUTPUT = "output"  # applied to decoded logits after the readout (log_softmax)
    UNSUPPORTED = "unsupported"


SYNAPTIC_RULES: Dict[type, Callable[[nn.Module], nn.Module]] = {
    nn.Linear: SpikingLinear.from_linear,
    GCNConv: SpikingGCNConv.from_pyg,
    SGConv: SpikingSGConv.from_pyg,
    SAGEConv: SpikingSAGEConv.from_pyg,
    GraphConv: SpikingGraphConv.from_pyg,
}

ACTIVATION_MODULES = {nn.ReLU: "relu", ThresholdReLU: "threshold_relu", QCFS: "qcfs"}
ACTIVATION_FUNCTIONS = {F.relu: "relu", torch.relu: "relu"}
ACTIVATION_METHODS = {"relu": "relu"}

NORMALISATION_MODULES = (nn.BatchNorm1d, PyGBatchNorm)
REMOVED_MODULES = (nn.Dropout, nn.Identity)
REMOVED_FUNCTIONS = {F.dropout}

ELEMENTWISE_FUNCTIONS = {operator.add, torch.add, torch.cat}
ELEMENTWISE_METHODS = {"add"}
# functions with a `dim` argument that must skip the leading time axis
TIME_SHIFTED_DIM_FUNCTIONS = {torch.cat}

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
        return OpRole.UNSUPPORTED
    if node.op == "call_method":
        if node.target in ACTIVATION_METHODS:
            return OpRole.ACTIVATION
        if node.target in ELEMENTWISE_METHODS:
            return OpRole.ELEMENTWISE
        if node.target in OUTPUT_METHODS:
            return OpRole.OUTPUT
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
    names += ["F.relu", "torch.relu", "Tensor.relu()", "BatchNorm1d (after a linear/graph layer)"]
    names += ["Dropout", "Identity", "F.dropout", "+ / torch.add", "torch.cat"]
    names += ["log_softmax / softmax (on the output only)"]
    return ", ".join(names)
