"""Folding batch norms into the weighted layer before them."""

import torch
from torch import fx

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import NORMALISATION_MODULES, qualified_name
from gsnn.nn.synaptic_layer import WeightedLayer


def fold_batch_norms(graph_module: fx.GraphModule) -> None:
    """Absorb every batch norm into the weighted layer that feeds it (methods.md O15).

    Raises:
        ConversionError: a batch norm that does not directly follow a weighted
            layer whose output it alone uses, or that keeps no running statistics.
    """
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op != "call_module" or not isinstance(modules[node.target], NORMALISATION_MODULES):
            continue
        norm = modules[node.target]
        batch_norm = getattr(norm, "module", norm)  # PyG's BatchNorm wraps nn.BatchNorm1d
        source = node.args[0]
        foldable = (
            isinstance(source, fx.Node)
            and source.op == "call_module"
            and isinstance(modules[source.target], WeightedLayer)
            and len(source.users) == 1
            and batch_norm.track_running_stats
        )
        if not foldable:
            raise ConversionError(
                f"{qualified_name(node, modules)} must directly follow a linear or graph layer "
                "(whose output it alone uses) and track running statistics, so that it can be "
                "folded into that layer.",
                [qualified_name(node, modules)],
            )
        std = torch.sqrt(batch_norm.running_var + batch_norm.eps)
        weight = batch_norm.weight if batch_norm.affine else torch.ones_like(std)
        bias = batch_norm.bias if batch_norm.affine else torch.zeros_like(std)
        scale = (weight / std).detach()
        shift = (bias - batch_norm.running_mean * scale).detach()
        modules[source.target].fold_output_affine_(scale, shift)
        node.replace_all_uses_with(source)
        graph_module.graph.erase_node(node)
