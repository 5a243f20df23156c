"""The conversion lifecycle: validate, trace, normalise, calibrate, build, check.

Each stage is a named pass in a module of its own; this file only orders them.
"""

import copy
import logging
from typing import Optional, Union

from torch import Tensor, nn
from tqdm import tqdm

from gsnn.coding import CODERS
from gsnn.coding.validation import check_time_steps
from gsnn.convert.activation_sites import activation_sites
from gsnn.convert.agreement import agreement
from gsnn.convert.batch_norm_folding import fold_batch_norms
from gsnn.convert.calibration_data import (
    CalibrationData,
    calibration_calls,
    check_body_inputs,
    check_features,
    check_precision,
    check_rows,
    run_ann,
)
from gsnn.convert.calibration_subgraph import (
    CalibrationNodes,
    calibration_subgraph,
    graph_caches_set_aside,
)
from gsnn.convert.count_only_ops import check_count_only_ops
from gsnn.convert.depth import depth_per_module
from gsnn.convert.inplace_activations import redirect_in_place_activations
from gsnn.convert.input_binding import call_features, trace_call
from gsnn.convert.layer_replacement import replace_layers
from gsnn.convert.merges import check_constant_operands, delay_shallow_branches
from gsnn.convert.normalise import (
    check_supported,
    modularise_functional_pools,
    modularise_global_pools,
    remove_inference_identities,
)
from gsnn.convert.output_ops import split_output_ops
from gsnn.convert.pre_trace import prepare_for_tracing
from gsnn.convert.spike_sources import gain_sources, mark_spike_input
from gsnn.convert.spiking_network import SpikingNetwork
from gsnn.convert.threshold_folding import connect_spikes, insert_neurons
from gsnn.convert.time_axis import shift_time_dims
from gsnn.methods import ConversionMethod, get_method

logger = logging.getLogger(__name__)


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
    calibration_nodes: Optional[CalibrationNodes] = None,
    calibration_hops: Optional[int] = None,
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
        data: calibration data: a PyG ``Data`` or ``Batch``, whose attributes fill
            the forward parameters of the same name (``x``, ``edge_index``,
            ``edge_weight``, ``edge_attr``, ``adj_t``, ``batch``; a parameter named
            ``data`` receives the whole object), a tensor, a tuple of inputs by
            position, or an iterable of batches such as a ``DataLoader`` of
            ``(images, labels)`` or of bare image tensors (labels are never used).
            Every batch enters the statistics; the agreement check runs on the
            first, calling the ANN and the SNN the same way.
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
        calibration_nodes (int or Tensor, optional): calibrate on these nodes of one large
            graph (indices, a boolean mask, or a count drawn with seed 0) instead of all: the
            ANN runs on their k-hop subgraph only, which gives them their whole-graph
            activations, and the agreement check covers the same nodes (see
            :func:`~gsnn.convert.calibration_subgraph.calibration_subgraph`). Not together
            with ``mask``.
        calibration_hops (int, optional): hops of the neighbourhood of ``calibration_nodes``
            taken; default exact (the model's hops + 1), ``0`` the subgraph induced by the
            nodes alone (approximate, for graphs whose neighbourhoods cover most nodes).
        **method_options: options of the method (e.g. ``percentile=99.99``).

    Returns:
        SpikingNetwork: call it like the model, with the model's forward signature.

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
    check_precision(model)
    if calibration_nodes is not None:
        if mask is not None:
            raise ValueError(
                "Give either mask (rows of the calibration data) or calibration_nodes (nodes "
                "whose k-hop subgraph calibrates), not both."
            )
        subgraph, mask = calibration_subgraph(data, calibration_nodes, model, calibration_hops)
        with graph_caches_set_aside(model):
            return convert(
                model, subgraph, recipe, T, coding, mask, check, progress, steps_per_chunk
            )
    calls = calibration_calls(data, model)
    if mask is not None and len(calls) > 1:
        raise ValueError(
            "A row mask selects nodes of one graph; with a loader of several batches, "
            "put only the calibration samples into the loader instead."
        )
    bar.update()
    bar.set_postfix_str("trace")
    was_training = model.training
    model.eval()
    try:
        for call in calls:
            check_features(call_features(model, call))
        ann_output = run_ann(model, calls[0])  # also initialises lazy layers before tracing
        traceable = prepare_for_tracing(copy.deepcopy(model)).eval()
        graph_module, binding = trace_call(traceable, calls[0])
        batches = [binding(*call.args, **call.kwargs) for call in calls]  # the body's inputs
        inputs = batches[0]
        check_body_inputs(batches, binding.body_inputs)
        check_rows(sum(len(b[0]) for b in batches) if mask is None else len(inputs[0]), mask)
    finally:
        model.train(was_training)

    bar.update()
    bar.set_postfix_str("normalise")
    redirect_in_place_activations(graph_module)
    remove_inference_identities(graph_module)
    modularise_functional_pools(graph_module)
    modularise_global_pools(graph_module)
    check_supported(graph_module)
    output_ops = split_output_ops(graph_module)
    bar.update()
    bar.set_postfix_str("calibrate")
    sites, sample_shapes = activation_sites(graph_module, batches, mask, recipe)
    bar.update()
    bar.set_postfix_str("build")

    ann_reference = copy.deepcopy(graph_module) if recipe.calibrates_network else None
    replace_layers(graph_module)
    fold_batch_norms(graph_module)
    neurons = insert_neurons(graph_module, sites, recipe, sample_shapes)
    neuron_names = set(neurons)
    coder = recipe.make_input_coder(inputs[0]) or CODERS[coding]()
    if coder.amplitude is not None:  # a weighted input code: fold its amplitude downstream
        first_input = next(n for n in graph_module.graph.nodes if n.op == "placeholder")
        connect_spikes(graph_module, first_input, coder.amplitude, sample_shapes)
    check_count_only_ops(graph_module, neuron_names, recipe)
    check_constant_operands(graph_module, neuron_names, recipe, T)
    delay_shallow_branches(graph_module, neuron_names, recipe, sample_shapes)
    shift_time_dims(graph_module)
    graph_module.graph.lint()
    graph_module.recompile()
    graph_module.delete_all_unused_submodules()

    if coding != "analog":
        mark_spike_input(graph_module)
    snn = SpikingNetwork(
        graph_module,
        coder,
        recipe,
        {name: threshold for name, (_, threshold) in neurons.items()},
        T,
        output_ops,
        sample_shape=tuple(inputs[0].shape[1:]),
        depths=depth_per_module(graph_module, neuron_names),
        gain_sources=gain_sources(graph_module, neuron_names),
        neuron_sites={name: site for name, (site, _) in neurons.items()},
        input_binding=binding,
    )
    snn.steps_per_chunk = steps_per_chunk
    if recipe.calibrates_network:
        recipe.calibrate_network(snn, ann_reference, batches, mask)
    bar.update()
    bar.set_postfix_str("check")
    snn.conversion_check = None
    if check:
        snn.conversion_check = agreement(snn, calls[0], ann_output, mask)
        logger.info(
            "ANN-to-SNN agreement on the calibration data (T=%d): %.4f",
            T,
            snn.conversion_check["agreement"],
        )
    bar.update()
    bar.close()
    return snn
