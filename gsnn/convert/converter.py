"""The conversion lifecycle: validate, trace, normalise, calibrate, build, check."""

import copy
import inspect
import logging
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, fx, nn
from torch_geometric.data import Data
from tqdm import tqdm

from gsnn.coding import CODERS
from gsnn.coding.validation import check_time_steps
from gsnn.convert.calibrate import collect_site_statistics
from gsnn.convert.errors import ConversionError
from gsnn.convert.normalise import (
    check_supported,
    modularise_functional_pools,
    remove_inference_identities,
)
from gsnn.convert.rules import (
    NORMALISATION_MODULES,
    STRUCTURAL_RULES,
    SYNAPTIC_RULES,
    TIME_SHIFTED_DIMS,
    OpRole,
    activation_kind,
    qualified_name,
    role_of,
)
from gsnn.convert.spiking_network import OutputOp, SpikingNetwork
from gsnn.convert.tracer import positional_parameters, trace
from gsnn.methods import ActivationSite, ConversionMethod, get_method
from gsnn.nn import (
    OneToOneSynapse,
    SpikeDelay,
    SpikingAvgPool2d,
    SpikingMaxPool2d,
    SynapticLayer,
)
from gsnn.nn.graph_adjacency import check_edge_index

logger = logging.getLogger(__name__)

CalibrationData = Union[Data, Tensor, Sequence[Tensor], Iterable]


def model_inputs(data: CalibrationData) -> Tuple:
    """The positional inputs a model is called with for ``data``.

    A PyG ``Data`` gives ``(x, edge_index)``, plus ``edge_weight`` when it has
    one; a tensor gives ``(tensor,)``; a tuple or list is used as is.
    """
    if isinstance(data, Data):
        if data.x is None or data.edge_index is None:
            raise ValueError("Calibration Data needs node features 'x' and an 'edge_index'.")
        check_edge_index(data.edge_index, data.x.shape[0])
        inputs = (data.x, data.edge_index)
        if getattr(data, "edge_weight", None) is not None:
            inputs += (data.edge_weight,)
        return inputs
    if isinstance(data, Tensor):
        return (data,)
    if isinstance(data, (tuple, list)) and data and isinstance(data[0], Tensor):
        return tuple(data)
    raise ValueError(
        "Calibration data must be a torch_geometric Data object, a tensor or a tuple of "
        f"model inputs, got {type(data).__name__}."
    )


def _positional_arity(model: nn.Module) -> Tuple[int, int]:
    """How many positional inputs ``model.forward`` needs at least and takes at most."""
    parameters = positional_parameters(model)
    required = sum(p.default is inspect.Parameter.empty for p in parameters)
    return required, len(parameters)


def calibration_batches(data: CalibrationData, model: nn.Module) -> List[Tuple]:
    """The model inputs of every calibration batch in ``data``.

    A PyG ``Data``, a tensor, or a tuple or list of as many tensors as
    ``model.forward`` takes is one batch (see :func:`model_inputs`). Any other
    iterable (a ``DataLoader``, a list of image batches) gives one batch per
    item: a bare tensor, a PyG ``Data``, or an ``(inputs, labels)`` pair whose
    labels are ignored.
    """
    required, most = _positional_arity(model)

    def fits(batch) -> bool:
        return (
            isinstance(batch, (tuple, list))
            and required <= len(batch) <= most
            and all(isinstance(item, Tensor) for item in batch)
        )

    if isinstance(data, (Data, Tensor)) or fits(data):
        return [model_inputs(data)]
    if not isinstance(data, Iterable):
        raise ValueError(
            "Calibration data must be a torch_geometric Data object, a tensor, a tuple of "
            f"model inputs or an iterable of batches (a DataLoader), got {type(data).__name__}."
        )
    batches = []
    for batch in data:
        if isinstance(batch, (tuple, list)) and not fits(batch) and len(batch) == 2:
            batch = batch[0]  # (inputs, labels)
        batches.append(model_inputs(batch))
    if not batches:
        raise ValueError("The calibration loader yielded no batches; give it some data.")
    return batches


def _check_features(x: Tensor) -> None:
    if not torch.is_floating_point(x):
        raise ValueError(f"Input features must be floating point, got {x.dtype}.")
    if not torch.isfinite(x).all():
        raise ValueError(
            "The calibration features contain NaN or infinite values; clean or impute them first."
        )


def _run_ann(ann: nn.Module, inputs: Tuple) -> Tensor:
    try:
        with torch.no_grad():
            return ann(*inputs)
    except (RuntimeError, IndexError) as error:
        shapes = ", ".join(str(tuple(i.shape)) for i in inputs if isinstance(i, Tensor))
        raise ValueError(
            f"The model cannot run on the calibration data (input shapes {shapes}): {error}. "
            "Calibrate with data shaped like the data the model was trained on."
        ) from error


def _split_output_ops(graph_module: fx.GraphModule) -> List[OutputOp]:
    """Detach trailing output ops (``log_softmax``) so they act on decoded logits."""
    modules = dict(graph_module.named_modules())
    output_node = next(n for n in graph_module.graph.nodes if n.op == "output")
    ops: List[OutputOp] = []
    node = output_node.args[0]
    while isinstance(node, fx.Node) and node.op.startswith("call"):
        if role_of(node, modules) is not OpRole.OUTPUT or len(node.users) != 1:
            break
        ops.insert(0, (node.op, node.target, tuple(node.args[1:]), dict(node.kwargs)))
        output_node.replace_input_with(node, node.args[0])
        graph_module.graph.erase_node(node)
        node = output_node.args[0]
    for other in graph_module.graph.nodes:
        if other.op.startswith("call") and role_of(other, modules) is OpRole.OUTPUT:
            raise ConversionError(
                f"{qualified_name(other, modules)} is only supported as the last op of the "
                "model (applied to the decoded logits).",
                [qualified_name(other, modules)],
            )
    return ops


def _activation_sites(
    graph_module: fx.GraphModule, batches: List[Tuple], rows: Optional[Tensor], method
) -> List[ActivationSite]:
    modules = dict(graph_module.named_modules())
    nodes = [
        n
        for n in graph_module.graph.nodes
        if n.op.startswith("call") and role_of(n, modules) is OpRole.ACTIVATION
    ]
    statistics = collect_site_statistics(graph_module, batches, [n.name for n in nodes], rows)
    sites = [
        ActivationSite(
            name=n.name,
            kind=activation_kind(n, modules),
            module=modules.get(n.target) if n.op == "call_module" else None,
            statistics=statistics[n.name],
        )
        for n in nodes
    ]
    problems = [(n, p) for n, p in zip(nodes, (method.check_site(s) for s in sites)) if p]
    if problems:  # name only the sites the method rejects, by qualified name
        raise ConversionError(
            "; ".join(p for _, p in problems), [qualified_name(n, modules) for n, _ in problems]
        )
    return sites


def _replace_synaptic_layers(graph_module: fx.GraphModule) -> None:
    modules = dict(graph_module.named_modules())
    calls: Dict[str, int] = {}
    failures = []
    for node in graph_module.graph.nodes:
        if node.op == "call_module" and role_of(node, modules) is OpRole.STRUCTURAL:
            module = modules[node.target]  # the ANN module, also at its later call sites
            if type(module) in STRUCTURAL_RULES:  # weightless: may serve several call sites
                try:
                    spiking = STRUCTURAL_RULES[type(module)](module)
                except ValueError as error:
                    failures.append(f"{qualified_name(node, modules)}: {error}")
                    continue
                calls[node.target] = calls.get(node.target, 0) + 1
                if calls[node.target] == 1:
                    graph_module.delete_submodule(node.target)
                    graph_module.add_submodule(node.target, spiking)
                elif hasattr(spiking, "keep_state"):  # state streamed across chunks: one per site
                    name = f"{node.target}_call{calls[node.target]}".replace(".", "_")
                    graph_module.add_submodule(name, spiking)
                    node.target = name
            continue
        if node.op != "call_module" or role_of(node, modules) is not OpRole.SYNAPTIC:
            continue
        calls[node.target] = calls.get(node.target, 0) + 1
        if calls[node.target] > 1:
            failures.append(f"{node.target} is called more than once (share weights by copying)")
            continue
        try:
            spiking = SYNAPTIC_RULES[type(modules[node.target])](modules[node.target])
        except ValueError as error:
            failures.append(f"{qualified_name(node, modules)}: {error}")
            continue
        spiking.receives_spikes = False
        graph_module.delete_submodule(node.target)
        graph_module.add_submodule(node.target, spiking)
    if failures:
        raise ConversionError("Cannot convert: " + "; ".join(failures), failures)


def _fold_normalisations(graph_module: fx.GraphModule) -> None:
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
            and hasattr(modules[source.target], "fold_output_affine_")
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


def _shift_time_dims(graph_module: fx.GraphModule) -> None:
    """Dimension arguments of ``cat`` and ``flatten`` skip the leading time axis of ``[T, ...]``."""
    for node in graph_module.graph.nodes:
        if node.op not in ("call_function", "call_method"):
            continue
        if node.target not in TIME_SHIFTED_DIMS:
            continue
        names, default = TIME_SHIFTED_DIMS[node.target]
        for position, name in enumerate(names, start=1):
            if name in node.kwargs:
                if node.kwargs[name] >= 0:
                    node.update_kwarg(name, node.kwargs[name] + 1)
            elif len(node.args) > position:
                if node.args[position] >= 0:
                    node.update_arg(position, node.args[position] + 1)
            elif position == 1:
                node.update_kwarg(name, default + 1)


def _insert_neurons(
    graph_module: fx.GraphModule, sites: List[ActivationSite], method: ConversionMethod, T: int
) -> Dict[str, Tensor]:
    """Replace every activation call site by its own neuron; fold thresholds downstream."""
    site_by_name = {site.name: site for site in sites}
    thresholds: Dict[str, Tensor] = {}
    for node in list(graph_module.graph.nodes):
        if node.name not in site_by_name:
            continue
        site = site_by_name[node.name]
        threshold = _broadcast_over_sample(method.threshold(site), node)
        neuron_name = f"neuron_{site.name}"
        thresholds[neuron_name] = threshold
        # a placeholder: SpikingNetwork builds the neuron for its T and depth
        graph_module.add_submodule(neuron_name, nn.Identity())
        with graph_module.graph.inserting_after(node):
            neuron_node = graph_module.graph.call_module(neuron_name, (node.args[0],))
        neuron_node.meta = dict(node.meta)
        node.replace_all_uses_with(neuron_node)
        graph_module.graph.erase_node(node)
        _connect_spikes(graph_module, neuron_node, threshold)
    return thresholds


def _is_structural(node: fx.Node, modules: Dict[str, nn.Module]) -> bool:
    return node.op.startswith("call") and role_of(node, modules) is OpRole.STRUCTURAL


def _weighted_consumers(
    user: fx.Node, source: fx.Node, modules: Dict[str, nn.Module], events: float = 1.0
) -> Optional[List[Tuple[nn.Module, float]]]:
    """The weighted layers that receive ``source``'s output via ``user``, through pooling
    and flattening only.

    Returns ``(layer, events, input_shape)`` triples, ``events`` being the spike
    events one unit of the layer's input stands for (average pooling folded in)
    and ``input_shape`` the shape of one sample of that input, or ``None`` when a
    path ends elsewhere (an add, the output) or passes an average pool of uneven
    windows (see :meth:`~gsnn.nn.SpikingAvgPool2d.events_per_unit`).
    """
    module = modules.get(user.target) if user.op == "call_module" else None
    if not _is_structural(user, modules):
        weighted = hasattr(module, "scale_inputs_") and user.args[0] is source
        return [(module, events, tuple(source.meta.get("sample_shape", ())))] if weighted else None
    if isinstance(module, SpikingAvgPool2d):
        per_unit = module.events_per_unit(source.meta.get("sample_shape", ()))
        if per_unit is None:
            return None
        events *= per_unit
    consumers = []
    for below in user.users:
        found = _weighted_consumers(below, user, modules, events)
        if found is None:
            return None
        consumers += found
    return consumers


def _broadcast_over_sample(threshold: Tensor, site: fx.Node) -> Tensor:
    """A site's threshold shaped to broadcast over one sample: a scalar as it is, one per
    channel :math:`(C,)` as :math:`(C, 1, 1)` for feature maps, :math:`(C,)` for node
    features."""
    threshold = torch.as_tensor(threshold)
    if threshold.dim() == 0:
        return threshold
    sample_shape = tuple(site.meta.get("sample_shape", ()))
    if threshold.dim() != 1 or not sample_shape or threshold.numel() != sample_shape[0]:
        raise ValueError(
            f"The threshold of site '{site.name}' has shape {tuple(threshold.shape)}; a "
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


def _connect_spikes(graph_module: fx.GraphModule, neuron_node: fx.Node, threshold: Tensor) -> None:
    """Fold the threshold into receiving synaptic layers, else insert a one-to-one synapse.

    Pooling and flattening between the neuron and weighted layers commute with
    the (per-channel) threshold, so it folds through them.
    """
    modules = dict(graph_module.named_modules())
    for index, user in enumerate(list(neuron_node.users)):
        consumers = _weighted_consumers(user, neuron_node, modules)
        if consumers is not None:
            for receiver, events, input_shape in consumers:
                receiver.scale_inputs_(_gain_at_input(threshold, input_shape))
                receiver.receives_spikes = True
                receiver.input_event_scale = events
            continue
        name = f"{neuron_node.name}_synapse{index}"
        _insert_between(graph_module, neuron_node, user, name, OneToOneSynapse(threshold))


def _insert_between(
    graph_module: fx.GraphModule, source: fx.Node, user: fx.Node, name: str, module: nn.Module
) -> None:
    """Route the edge ``source -> user`` through a new submodule ``name``."""
    graph_module.add_submodule(name, module)
    with graph_module.graph.inserting_before(user):
        inserted = graph_module.graph.call_module(name, (source,))
    inserted.meta = dict(source.meta)
    user.replace_input_with(source, inserted)


def _check_max_pools(
    graph_module: fx.GraphModule, neuron_names: set, method: ConversionMethod
) -> None:
    """Max pooling is exact on spike counts of a neuron population, and nowhere else."""
    modules = dict(graph_module.named_modules())
    problems = []
    for node in graph_module.graph.nodes:
        if node.op != "call_module" or not isinstance(modules[node.target], SpikingMaxPool2d):
            continue
        source = node.args[0]
        if isinstance(modules.get(getattr(source, "target", None)), OneToOneSynapse):
            source = source.args[0]  # weighted spikes on their way to an add or the output
        if not (isinstance(source, fx.Node) and source.target in neuron_names):
            problems.append(
                f"{node.target}: max pooling of currents has no exact spiking form; apply it "
                "after the activation (for ReLU-like activations both orders give the same ANN)"
            )
        elif not method.exact_max_pool:
            problems.append(
                f"{node.target}: method '{method.name}' weights its spikes by time, so a "
                "spike's value is not its count and max pooling is not exact; use AvgPool2d "
                "(or a count-coded method such as qcfs, two-phase or one-spike)"
            )
    if problems:
        raise ConversionError("Cannot convert max pooling: " + "; ".join(problems), problems)


def _mark_spike_input(graph_module: fx.GraphModule) -> None:
    """Layers reading the coded input directly receive spikes (non-analog coding)."""
    first_input = next(n for n in graph_module.graph.nodes if n.op == "placeholder")
    for user in first_input.users:
        if user.op == "call_module":
            graph_module.get_submodule(user.target).receives_spikes = True


def _gain_sources(graph_module: fx.GraphModule, neuron_names: set) -> Dict[str, str]:
    """For every synaptic layer fed directly by neurons or by the network input, which one."""
    sources = {}
    modules = dict(graph_module.named_modules())
    for node in graph_module.graph.nodes:
        if node.op != "call_module" or node.target in neuron_names:
            continue
        if not isinstance(graph_module.get_submodule(node.target), SynapticLayer):
            continue
        feeder = node.args[0]
        while isinstance(feeder, fx.Node) and _is_structural(feeder, modules):
            feeder = feeder.args[0]
        if isinstance(feeder, fx.Node) and feeder.op == "placeholder":
            sources[node.target] = "input"
        elif isinstance(feeder, fx.Node) and feeder.target in neuron_names:
            sources[node.target] = "spikes"
    return sources


def _depth_per_node(graph_module: fx.GraphModule, neuron_names: set) -> Dict[fx.Node, int]:
    """Neurons on the longest path from an input up to each node (the node included)."""
    depth: Dict[fx.Node, int] = {}
    for node in graph_module.graph.nodes:
        before = max((depth[source] for source in node.all_input_nodes), default=0)
        depth[node] = before + (node.op == "call_module" and node.target in neuron_names)
    return depth


def _node_depths(graph_module: fx.GraphModule, neuron_names: set) -> Dict[str, int]:
    """:func:`_depth_per_node` keyed by module name (``"output"`` for the output)."""
    depth = _depth_per_node(graph_module, neuron_names)
    return {node.name if node.op == "output" else str(node.target): d for node, d in depth.items()}


def _merges(graph_module: fx.GraphModule) -> List[fx.Node]:
    """The residual adds and concatenations of the graph."""
    modules = dict(graph_module.named_modules())
    return [
        node
        for node in graph_module.graph.nodes
        if node.op in ("call_function", "call_method")
        and role_of(node, modules) is OpRole.ELEMENTWISE
    ]


def _check_constant_operands(
    graph_module: fx.GraphModule, neuron_names: set, method: ConversionMethod, T: int
) -> None:
    """Refuse constants added to spike-driven currents under a schedule that adds biases once.

    A merge adds its operands at every simulated step. For rate codes a
    constant there is a bias, added every step, as it should be; methods that
    weight the steps (``bias_gains`` not ``None``: CSS, one-spike, phase)
    would add it at every step instead of once.
    """
    if method.bias_gains(1, method.simulation_steps(1, T)) is None:
        return
    modules = dict(graph_module.named_modules())
    scheduled = set()  # nodes downstream of a synaptic layer or a neuron
    for node in graph_module.graph.nodes:
        is_layer = node.op == "call_module" and (
            node.target in neuron_names or isinstance(modules[node.target], SynapticLayer)
        )
        if is_layer or any(source in scheduled for source in node.all_input_nodes):
            scheduled.add(node)
    problems = []
    for merge in _merges(graph_module):
        operands = merge.args[0] if merge.target is torch.cat else merge.args
        constants = [
            operand.name if isinstance(operand, fx.Node) else repr(operand)
            for operand in operands
            if isinstance(operand, (int, float))
            or (isinstance(operand, fx.Node) and operand not in scheduled)
        ]
        if constants:
            problems.append(
                f"{qualified_name(merge, modules)} adds {', '.join(constants)}, which reaches "
                f"it without passing a layer; method '{method.name}' weights its steps and "
                "adds inputs and biases once, so this term would be added at every step. Fold "
                "it into the bias of the layer before the add, or use an online method (rate, "
                "qcfs, burst)"
            )
    if problems:
        raise ConversionError("Cannot convert constant operands: " + "; ".join(problems), problems)


def _delay_shallow_branches(
    graph_module: fx.GraphModule, neuron_names: set, method: ConversionMethod
) -> None:
    """Insert a :class:`~gsnn.nn.SpikeDelay` on every merge input that skips spiking layers,
    where the method's schedule asks for one (:meth:`ConversionMethod.branch_delay`)."""
    depth = _depth_per_node(graph_module, neuron_names)
    for merge in _merges(graph_module):
        deepest = depth[merge]
        for source in merge.all_input_nodes:
            if depth[source] == 0:
                continue  # not downstream of a neuron: nothing to align
            steps = method.branch_delay(deepest - depth[source])
            if steps == 0:
                continue
            name = f"{source.name}_delay_{merge.name}"
            _insert_between(graph_module, source, merge, name, SpikeDelay(steps))


def convert(
    model: nn.Module,
    data: CalibrationData,
    method: Union[str, ConversionMethod] = "qcfs",
    T: int = 8,
    coding: str = "analog",
    mask: Optional[Tensor] = None,
    check: bool = True,
    progress: bool = False,
    steps_per_chunk: Optional[int] = None,
    **method_options,
) -> SpikingNetwork:
    """Convert a trained ANN into a spiking network.

    Lifecycle: validate the arguments, trace the model with torch.fx, remove
    inference identities (dropout), calibrate activation statistics on
    ``data``, build spiking layers and one neuron per activation call site with
    the method's thresholds (batch norm folded), then check ANN-to-SNN
    agreement on the calibration data.

    Args:
        model (nn.Module): trained PyG or torch model, in any usual style.
        data: calibration data: a PyG ``Data`` (the model is called as
            ``model(x, edge_index[, edge_weight])``), a tensor, a tuple of inputs,
            or an iterable of batches such as a ``DataLoader`` of ``(images,
            labels)`` or of bare image tensors (labels are never used). Every
            batch enters the statistics; the agreement check runs on the first.
        method (str or ConversionMethod): a registered method name
            (``gsnn.methods.METHODS``) or an instance. (default: ``"qcfs"``)
        T (int): time steps per inference. (default: ``8``)
        coding (str): input coding, one of ``gsnn.coding.CODERS``. (default: ``"analog"``)
        mask (Tensor, optional): rows (nodes) of a single calibration batch whose
            activations calibrate the thresholds and enter the check; default all.
        check (bool): run the agreement check and store it in
            ``snn.conversion_check``. (default: ``True``)
        progress (bool): show a progress bar over the lifecycle stages. (default: ``False``)
        steps_per_chunk (int, optional): simulate that many steps per pass, for the
            agreement check and every later call (online methods only; see
            :attr:`SpikingNetwork.steps_per_chunk`). (default: ``None``, all at once)
        **method_options: options of the method (e.g. ``percentile=99.99``).

    Returns:
        SpikingNetwork: call it like the model.

    Raises:
        ConversionError: the model holds ops without a spiking equivalent,
            naming every one of them.
        ValueError: bad arguments or calibration data.
    """
    bar = tqdm(total=6, desc="convert", disable=not progress, leave=False)
    bar.set_postfix_str("validate")
    check_time_steps(T)
    recipe = get_method(method, **method_options)
    if coding not in CODERS:
        raise ValueError(f"Unknown input coding {coding!r}; choose one of {sorted(CODERS)}.")
    if coding != "analog" and not recipe.accepts_spike_coded_input:
        raise ValueError(
            f"Method {recipe.name!r} weights or injects the input by its own schedule and "
            f"needs coding='analog', got coding={coding!r}."
        )
    batches = calibration_batches(data, model)
    inputs = batches[0]
    for batch in batches:
        _check_features(batch[0])
    if mask is not None and len(batches) > 1:
        raise ValueError(
            "A row mask selects nodes of one graph; with a loader of several batches, "
            "put only the calibration samples into the loader instead."
        )
    if mask is not None and (mask.dtype == torch.bool and mask.shape[0] != inputs[0].shape[0]):
        raise ValueError(
            f"The mask has {mask.shape[0]} entries but the data has {inputs[0].shape[0]} rows."
        )
    bar.update()
    bar.set_postfix_str("trace")
    was_training = model.training
    model.eval()
    try:
        ann_output = _run_ann(model, inputs)
        graph_module = trace(copy.deepcopy(model).eval(), len(inputs))
    finally:
        model.train(was_training)

    bar.update()
    bar.set_postfix_str("normalise")
    remove_inference_identities(graph_module)
    modularise_functional_pools(graph_module)
    check_supported(graph_module)
    output_ops = _split_output_ops(graph_module)
    bar.update()
    bar.set_postfix_str("calibrate")
    sites = _activation_sites(graph_module, batches, mask, recipe)
    bar.update()
    bar.set_postfix_str("build")

    ann_reference = copy.deepcopy(graph_module) if recipe.calibrates_network else None
    _replace_synaptic_layers(graph_module)
    _fold_normalisations(graph_module)
    thresholds = _insert_neurons(graph_module, sites, recipe, T)
    coder = recipe.make_input_coder(inputs[0]) or CODERS[coding]()
    if hasattr(coder, "amplitude"):  # a weighted input code: fold its amplitude downstream
        first_input = next(n for n in graph_module.graph.nodes if n.op == "placeholder")
        _connect_spikes(graph_module, first_input, coder.amplitude)
    _check_max_pools(graph_module, set(thresholds), recipe)
    _check_constant_operands(graph_module, set(thresholds), recipe, T)
    _delay_shallow_branches(graph_module, set(thresholds), recipe)
    _shift_time_dims(graph_module)
    graph_module.graph.lint()
    graph_module.recompile()
    graph_module.delete_all_unused_submodules()

    if coding != "analog":
        _mark_spike_input(graph_module)
    snn = SpikingNetwork(
        graph_module,
        coder,
        recipe,
        thresholds,
        T,
        output_ops,
        sample_shape=tuple(inputs[0].shape[1:]),
        depths=_node_depths(graph_module, set(thresholds)),
        gain_sources=_gain_sources(graph_module, set(thresholds)),
    )
    snn.steps_per_chunk = steps_per_chunk
    if recipe.calibrates_network:
        recipe.calibrate_network(snn, ann_reference, batches, mask)
    bar.update()
    bar.set_postfix_str("check")
    snn.conversion_check = None
    if check:
        snn.conversion_check = agreement(snn, inputs, ann_output, mask)
        logger.info(
            "ANN-to-SNN agreement on the calibration data (T=%d): %.4f",
            T,
            snn.conversion_check["agreement"],
        )
    bar.update()
    bar.close()
    return snn


@torch.no_grad()
def agreement(
    snn: SpikingNetwork, inputs: Tuple, ann_output: Tensor, mask: Optional[Tensor] = None
) -> Dict[str, float]:
    """Fraction of rows where the SNN predicts the ANN's class (argmax of the last axis)."""
    snn_output = snn(*inputs)
    same = snn_output.argmax(dim=-1) == ann_output.argmax(dim=-1)
    if mask is not None:
        same = same[mask]
    return {"agreement": float(same.float().mean()), "rows": int(same.numel()), "T": snn.T}
