"""What gsnn converts, generated from the registry and the converter's op tables.

The page ``docs/supported_ops.md`` is this table; a test keeps the two equal and
:data:`REGENERATE` is the command that rewrites it.
"""

from typing import Dict, List

import torch
import torch.nn.functional as F
import torch_geometric.nn as pyg_nn
from torch import nn

import gsnn.ann
from gsnn.convert.pre_trace import SPLIT_MODULES
from gsnn.convert.rules import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_METHODS,
    ACTIVATION_MODULES,
    ELEMENTWISE_FUNCTIONS,
    ELEMENTWISE_METHODS,
    FUNCTIONAL_POOLS,
    GLOBAL_POOLS,
    NORMALISATION_MODULES,
    OUTPUT_FUNCTIONS,
    OUTPUT_METHODS,
    REMOVED_FUNCTIONS,
    REMOVED_MODULES,
    STRUCTURAL_FUNCTIONS,
    STRUCTURAL_METHODS,
    OpRole,
)
from gsnn.nn.registry import RULES
from gsnn.nn.synaptic_layer import WeightedLayer

REGENERATE = (
    'python -c "from gsnn.convert.supported_op_table import supported_ops_markdown as page; '
    "print(page(), end='')\" > docs/supported_ops.md"
)
ROLE_TEXT = {
    OpRole.SYNAPTIC: "layer with weights: its spiking version; thresholds fold into its inputs",
    OpRole.STRUCTURAL: "weightless: applied to every step; thresholds fold through it",
    OpRole.ACTIVATION: "activation: one neuron per call site",
    OpRole.NORMALISATION: "folded into the weighted layer before it",
    OpRole.REMOVED: "identity at inference: removed",
    OpRole.ELEMENTWISE: "kept, applied to the currents of every step",
    OpRole.OUTPUT: "applied to the decoded logits (last op only)",
}


def _public_name(target) -> str:
    """``torch.nn.Linear``, ``torch_geometric.nn.GCNConv``, ``F.relu``, ``Tensor.relu()``."""
    if isinstance(target, str):
        return f"Tensor.{target}()"
    name = getattr(target, "__name__", str(target))
    for namespace, public in (
        (nn, "torch.nn"),
        (pyg_nn, "torch_geometric.nn"),
        (gsnn.ann, "gsnn.ann"),
        (F, "torch.nn.functional"),
        (torch, "torch"),
    ):
        if getattr(namespace, name, None) is target:
            return f"{public}.{name}"
    if getattr(target, "__module__", "") == "_operator":
        return f"operator.{name}"
    return f"{target.__module__}.{getattr(target, '__qualname__', name)}"


def supported_ops() -> List[Dict[str, str]]:
    """Every ANN op gsnn converts, one row each: ``op`` (the ANN op, by its public name),
    ``role`` (what the converter does with it) and ``becomes`` (its spiking counterpart).

    Layers come from the registry (:mod:`gsnn.nn.registry`), so a newly
    registered layer appears here without further edits.
    """
    rows = []

    def add(targets, role: OpRole, becomes=lambda target: "-") -> None:
        for target in targets:
            rows.append(
                {"op": _public_name(target), "role": role.value, "becomes": becomes(target)}
            )

    add(
        [t for t, cls in RULES.items() if issubclass(cls, WeightedLayer)],
        OpRole.SYNAPTIC,
        lambda t: RULES[t].__name__,
    )
    add(
        [t for t, cls in RULES.items() if not issubclass(cls, WeightedLayer)],
        OpRole.STRUCTURAL,
        lambda t: RULES[t].__name__,
    )
    add(SPLIT_MODULES, OpRole.STRUCTURAL, lambda t: SPLIT_MODULES[t].becomes)
    add(FUNCTIONAL_POOLS, OpRole.STRUCTURAL, lambda t: RULES[FUNCTIONAL_POOLS[t][0]].__name__)
    add(GLOBAL_POOLS, OpRole.STRUCTURAL, lambda t: RULES[GLOBAL_POOLS[t]].__name__)
    add([*STRUCTURAL_FUNCTIONS, *STRUCTURAL_METHODS], OpRole.STRUCTURAL)
    add(
        [*ACTIVATION_MODULES, *ACTIVATION_FUNCTIONS, *ACTIVATION_METHODS],
        OpRole.ACTIVATION,
        lambda t: "neuron",
    )
    add(NORMALISATION_MODULES, OpRole.NORMALISATION, lambda t: "folded")
    add([*REMOVED_MODULES, *REMOVED_FUNCTIONS], OpRole.REMOVED)
    add([*ELEMENTWISE_FUNCTIONS, *ELEMENTWISE_METHODS], OpRole.ELEMENTWISE)
    add([*OUTPUT_FUNCTIONS, *OUTPUT_METHODS], OpRole.OUTPUT)
    order = list(ROLE_TEXT)
    return sorted(rows, key=lambda row: (order.index(OpRole(row["role"])), row["op"]))


def supported_ops_markdown() -> str:
    """:func:`supported_ops` as the Markdown page ``docs/supported_ops.md``."""
    lines = [
        "# Supported ops",
        "",
        "Generated from the layer registry (`gsnn/nn/registry.py`) and the converter's op",
        "tables (`gsnn/convert/rules.py`); `gsnn.supported_ops()` returns the same rows. An",
        "op that is not listed is refused with a `ConversionError` naming it. Regenerate with",
        "",
        f"    {REGENERATE}",
        "",
    ]
    for role, text in ROLE_TEXT.items():
        ops = [row for row in supported_ops() if row["role"] == role.value]
        lines += [f"## {role.value}: {text}", "", "| ANN op | becomes |", "|---|---|"]
        lines += [f"| `{row['op']}` | {row['becomes']} |" for row in ops]
        lines.append("")
    return "\n".join(lines)
