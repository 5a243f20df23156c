"""Folding batch norms into the weighted layer before them, or into a per-step affine map
of the spikes where they follow an activation."""

from collections import Counter

from torch import fx

from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import NORMALISATION_MODULES, OpRole, qualified_name, role_of
from gsnn.nn import SpikingBatchNorm
from gsnn.nn.synaptic_layer import WeightedLayer


def fold_batch_norms(graph_module: fx.GraphModule) -> None:
    """Absorb every batch norm into the weighted layer that feeds it (methods.md O15); one
    that follows an activation (PyG's ``act_first=True``) becomes a
    :class:`~gsnn.nn.SpikingBatchNorm` of that activation's neuron.

    Raises:
        ConversionError: a batch norm that follows neither a weighted layer whose
            output it alone uses nor an activation, that keeps no running
            statistics, or that follows an activation at more than one call site.
    """
    modules = dict(graph_module.named_modules())
    norm_nodes = [
        node
        for node in graph_module.graph.nodes
        if node.op == "call_module" and isinstance(modules[node.target], NORMALISATION_MODULES)
    ]
    calls = Counter(node.target for node in norm_nodes)
    for node in norm_nodes:
        name = qualified_name(node, modules)
        source = node.args[0]
        after_activation = (
            isinstance(source, fx.Node)
            and source.op.startswith("call")
            and role_of(source, modules) is OpRole.ACTIVATION
        )
        foldable = (
            isinstance(source, fx.Node)
            and source.op == "call_module"
            and isinstance(modules[source.target], WeightedLayer)
            and len(source.users) == 1
        )
        if not (foldable or after_activation):
            raise ConversionError(
                f"{name} must directly follow a linear or graph layer (whose output it alone "
                "uses), so that it can be folded into that layer, or an activation.",
                [name],
            )
        try:
            affine = SpikingBatchNorm.from_ann(modules[node.target])
        except ValueError as error:
            raise ConversionError(f"{name}: {error}", [name]) from error
        if after_activation:
            if calls[node.target] > 1:
                raise ConversionError(
                    f"{name} follows an activation and is called at {calls[node.target]} "
                    "sites; give each site a batch norm of its own.",
                    [name],
                )
            graph_module.delete_submodule(node.target)
            graph_module.add_submodule(node.target, affine)
            continue
        modules[source.target].fold_output_affine_(affine.scale.detach(), affine.shift.detach())
        node.replace_all_uses_with(source)
        graph_module.graph.erase_node(node)
