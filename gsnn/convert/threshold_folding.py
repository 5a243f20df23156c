"""Neurons in place of activations, their thresholds folded into the layers they feed."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, fx, nn

from gsnn.convert.edge_insertion import insert_between
from gsnn.convert.rules import OpRole, role_of
from gsnn.methods import ActivationSite, ConversionMethod
from gsnn.nn import OneToOneSynapse
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.synaptic_layer import WeightedLayer

SampleShapes = Dict[str, Tuple[int, ...]]


def insert_neurons(
    graph_module: fx.GraphModule,
    sites: Sequence[ActivationSite],
    method: ConversionMethod,
    sample_shapes: SampleShapes,
) -> Dict[str, Tuple[str, Tensor]]:
    """Replace every activation call site by a neuron of its own; fold thresholds downstream.

    The neuron modules are placeholders (``nn.Identity``):
    :class:`~gsnn.convert.SpikingNetwork` builds the neurons for its ``T`` and depth.

    Returns:
        dict: neuron module name to ``(site name, threshold)``, the threshold shaped
        to broadcast over one sample.
    """
    site_by_name = {site.name: site for site in sites}
    neurons: Dict[str, Tuple[str, Tensor]] = {}
    for node in list(graph_module.graph.nodes):
        if node.name not in site_by_name:
            continue
        site = site_by_name[node.name]
        shape = sample_shapes.get(node.name, ())
        threshold = _broadcast_over_sample(method.threshold(site), site.name, shape)
        neuron_name = f"neuron_{site.name}"
        neurons[neuron_name] = (site.name, threshold)
        graph_module.add_submodule(neuron_name, nn.Identity())
        with graph_module.graph.inserting_after(node):
            neuron_node = graph_module.graph.call_module(neuron_name, (node.args[0],))
        sample_shapes[neuron_node.name] = shape
        node.replace_all_uses_with(neuron_node)
        graph_module.graph.erase_node(node)
        connect_spikes(graph_module, neuron_node, threshold, sample_shapes)
    return neurons


def connect_spikes(
    graph_module: fx.GraphModule, source: fx.Node, threshold: Tensor, sample_shapes: SampleShapes
) -> None:
    """Fold ``source``'s threshold into the weighted layers it feeds, else insert a
    one-to-one synapse.

    Structural ops (pooling, flattening) between ``source`` and weighted layers
    commute with the (per-channel) threshold, so it folds through them.
    """
    modules = dict(graph_module.named_modules())
    for index, user in enumerate(list(source.users)):
        consumers = _weighted_consumers(user, source, modules, sample_shapes)
        if consumers is not None:
            for receiver, events, input_shape, averages in consumers:
                receiver.scale_inputs_(_gain_at_input(threshold, input_shape))
                receiver.receives_spikes = True
                receiver.input_event_scale = events
                receiver.input_averages_graph_nodes = averages
            continue
        name = f"{source.name}_synapse{index}"
        insert_between(graph_module, source, user, name, OneToOneSynapse(threshold), sample_shapes)


def _weighted_consumers(
    user: fx.Node,
    source: fx.Node,
    modules: Dict[str, nn.Module],
    sample_shapes: SampleShapes,
    events: float = 1.0,
    averages: bool = False,
) -> Optional[List[Tuple[WeightedLayer, float, Tuple[int, ...], bool]]]:
    """The weighted layers that receive ``source``'s output via ``user``, through
    structural ops only.

    Returns ``(layer, events, input_shape, averages)`` tuples, ``events`` being the
    spike events one unit of the layer's input stands for (average pooling folded
    in), ``input_shape`` the shape of one sample of that input and ``averages``
    whether a per-graph mean lies on the way (``global_mean_pool``: one unit of
    graph :math:`g` stands for :math:`N_g` more events), or ``None`` when a
    path ends elsewhere (an add, the output) or passes an op the threshold cannot
    fold through (:meth:`~gsnn.nn.StructuralOp.events_per_unit` is ``None``).
    """
    module = modules.get(user.target) if user.op == "call_module" else None
    shape = tuple(sample_shapes.get(source.name, ()))
    if not is_structural(user, module):
        # scale_inputs_ weighs the first input: a layer that also takes ``source`` as another
        # input (GCN2Conv(x, x_0) with x = x_0) receives weighted spikes instead
        weighted = (
            isinstance(module, WeightedLayer)
            and user.args[0] is source
            and source not in user.args[1:]
        )
        return [(module, events, shape, averages)] if weighted else None
    if isinstance(module, StructuralOp):
        per_unit = module.events_per_unit(shape)
        if per_unit is None:
            return None
        events *= per_unit
        averages = averages or getattr(module, "averages_graph_nodes", False)
    consumers = []
    for below in user.users:
        found = _weighted_consumers(below, user, modules, sample_shapes, events, averages)
        if found is None:
            return None
        consumers += found
    return consumers


def is_structural(node: fx.Node, module: Optional[nn.Module]) -> bool:
    """A structural op: a registered weightless module or a functional flatten."""
    if isinstance(module, StructuralOp):
        return True
    return node.op in ("call_function", "call_method") and role_of(node, {}) is OpRole.STRUCTURAL


def _broadcast_over_sample(threshold: Tensor, site: str, sample_shape: Tuple[int, ...]) -> Tensor:
    """A site's threshold shaped to broadcast over one sample: a scalar as it is, one per
    channel :math:`(C,)` as :math:`(C, 1, 1)` for feature maps, :math:`(C,)` for node
    features."""
    threshold = torch.as_tensor(threshold)
    if threshold.dim() == 0:
        return threshold
    if threshold.dim() != 1 or not sample_shape or threshold.numel() != sample_shape[0]:
        raise ValueError(
            f"The threshold of site '{site}' has shape {tuple(threshold.shape)}; a "
            f"method gives a scalar or one per channel, ({sample_shape[:1] or '?'},) here."
        )
    return threshold.view(threshold.shape + (1,) * (len(sample_shape) - 1))


def _gain_at_input(threshold: Tensor, input_shape: Tuple[int, ...]) -> Tensor:
    """A neuron's threshold as the input gain of a weighted layer that receives its spikes
    pooled and/or flattened (``input_shape``: that layer's input, one sample).

    Pooling keeps the channel axis, so a per-channel threshold passes unchanged;
    flattening :math:`(C, H, W)` is channel-major, so each channel's threshold
    repeats over its :math:`HW` positions.
    """
    if threshold.dim() == 0 or len(input_shape) == threshold.dim():
        return threshold
    channels = threshold.numel()
    if len(input_shape) == 1:
        return threshold.reshape(channels, 1).expand(-1, input_shape[0] // channels).reshape(-1)
    return threshold.reshape((channels,) + (1,) * (len(input_shape) - 1))
