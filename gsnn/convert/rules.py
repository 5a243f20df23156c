"""How the converter classifies every traced op.

Layers with weights and weightless structural ops register their own rules next to
their spiking classes (:mod:`gsnn.nn.registry`); this module holds the tables of
everything else: activations, normalisations, ops removed at inference, merges and
output ops.
"""

import operator
from enum import Enum
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool, global_sort_pool
from torch_geometric.nn.aggr import (
    AttentionalAggregation,
    MaxAggregation,
    MeanAggregation,
    Set2Set,
    SortAggregation,
    SumAggregation,
)
from torch_geometric.nn.norm import BatchNorm as PyGBatchNorm

from gsnn.ann import QCFS, NoisyQC, TClamp, ThresholdReLU
from gsnn.nn import StructuralOp, SynapticLayer, WeightedLayer
from gsnn.nn.registry import rule_for


class OpRole(Enum):
    """What the converter does with one traced op."""

    SYNAPTIC = "synaptic"  # weighted linear or graph layer: replaced by its spiking version
    ACTIVATION = "activation"  # becomes a neuron (one per call site)
    NORMALISATION = "normalisation"  # batch norm, folded into the preceding synaptic layer
    REMOVED = "removed"  # identity at inference (dropout, nn.Identity)
    ELEMENTWISE = "elementwise"  # kept as is, applied to [T, ...] tensors (residual add, cat)
    STRUCTURAL = "structural"  # weightless pooling or flattening, applied per step
    OUTPUT = "output"  # applied to decoded logits after the readout (log_softmax)
    UNSUPPORTED = "unsupported"


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
# PyG's readouts ``global_*_pool(x, batch, size)`` are rewritten into the aggregation module
# they are the functional form of: ``aggregation(x, batch, dim_size=size)``
GLOBAL_POOLS = {
    global_add_pool: SumAggregation,
    global_mean_pool: MeanAggregation,
    global_max_pool: MaxAggregation,
}
# readouts with no spiking form: why, for the error message (checked by isinstance)
READOUT_FIX = "pool with global_add_pool, global_mean_pool or global_max_pool instead"
UNCONVERTIBLE_READOUTS = {
    AttentionalAggregation: "attention pooling weighs every node by a softmax of its gate "
    "score over its graph, a nonlinear function of the activations that spike counts do not "
    "carry through",
    Set2Set: "Set2Set runs an LSTM that attends over the nodes (softmax) for several steps; "
    "neither the LSTM's gates nor the attention are linear or a max of spike counts",
    SortAggregation: "sort pooling orders the nodes of every graph by their last feature, "
    "a permutation known only once all values are, so no step-by-step spike train gives it",
    global_sort_pool: "sort pooling orders the nodes of every graph by their last feature, "
    "a permutation known only once all values are, so no step-by-step spike train gives it",
}

ACTIVATION_MODULES = {
    nn.ReLU: "relu",
    ThresholdReLU: "threshold_relu",
    QCFS: "qcfs",
    TClamp: "clip",
    NoisyQC: "noisy_qc",
}
ACTIVATION_FUNCTIONS = {F.relu: "relu", torch.relu: "relu", torch.relu_: "relu"}
ACTIVATION_METHODS = {"relu": "relu", "relu_": "relu"}

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
        module_name = module_name.removeprefix("_")  # _operator.add is operator.add
        return f"{module_name}.{getattr(node.target, '__qualname__', node.target)} (at {node.name})"
    if node.op == "call_method":
        return f"Tensor.{node.target} (at {node.name})"
    return node.name


def role_of(node: fx.Node, modules: Dict[str, nn.Module]) -> OpRole:
    """Classify one ``call_*`` node of a traced model."""
    if node.op == "call_module":
        module = modules[node.target]
        rule = rule_for(module)
        if (rule is not None and issubclass(rule, WeightedLayer)) or isinstance(
            module, SynapticLayer
        ):
            return OpRole.SYNAPTIC
        if (rule is not None and issubclass(rule, StructuralOp)) or isinstance(
            module, StructuralOp
        ):
            return OpRole.STRUCTURAL
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
