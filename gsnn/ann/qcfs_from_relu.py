"""Turn a trained ReLU model into a QCFS model without retraining."""

import copy
import inspect
import warnings
from typing import Dict, List, Optional

import torch
from torch import Tensor, fx, nn

from gsnn.ann.qcfs import QCFS

# below this agreement with the ReLU model on the calibration rows, the QCFS model warns
AGREEMENT_WARNING = 0.95


@torch.no_grad()
def qcfs_from_relu(
    model: nn.Module,
    data,
    levels: int = 8,
    percentile: float = 99.0,
    mask: Optional[Tensor] = None,
) -> nn.Module:
    r"""A copy of ``model`` in which every ReLU call site is a calibrated :class:`QCFS`.

    Each call site gets a bound of its own: :math:`\lambda` is the ``percentile`` of
    the positive activations that site produced on ``data``. ``nn.ReLU`` modules,
    ``F.relu``, ``torch.relu``, ``x.relu()`` and their in-place forms all count, and
    a ReLU module called at several sites (PyG's ``BasicGNN`` shares one ``act``)
    gets one bound per site. The result is a QCFS network that ``method="qcfs"`` or
    ``"two-phase"`` converts exactly at :math:`T = L` (two-phase at any depth),
    reached from an ordinary ReLU model without quantisation-aware training;
    fine-tune it (e.g. with :func:`~gsnn.ann.train_node_classifier`) if its
    accuracy drops.

    When every ReLU is an ``nn.ReLU`` module called once, the copy keeps the
    model's class and attributes (each module replaced in place). Otherwise it is
    the model traced by ``torch.fx`` (a ``GraphModule`` called the same way), with
    one module ``qcfs_<site>`` per call site.

    After the call, ``quantised.qcfs_report`` holds how far the QCFS model moved
    from the ReLU model on the calibration rows: the fraction of rows whose
    predicted class (argmax of the last axis) stays the same, and the accuracy of
    both when ``data`` is a PyG ``Data`` with labels ``y``. A warning is issued when
    fewer than 95 % of the rows keep their prediction.

    Args:
        model (nn.Module): trained model with ReLU activations.
        data: calibration data, as for :func:`gsnn.convert` (a PyG ``Data``, a
            tensor, a tuple of model inputs or a loader of batches).
        levels (int): QCFS levels :math:`L`. (default: ``8``)
        percentile (float): percentile in (0, 100] of the positive activations. (default: ``99``)
        mask (Tensor, optional): rows (nodes) of a single batch that calibrate the
            bounds and enter the report (e.g. the training nodes); default all.

    Raises:
        ValueError: the model has no ReLU, or bad arguments.
    """
    # the converter's tracing and binding serve here too (gsnn.convert imports gsnn.ann,
    # so they are imported when the function runs)
    from gsnn.calibration import calibrate
    from gsnn.convert.calibration_data import calibration_calls
    from gsnn.convert.inplace_activations import redirect_in_place_activations
    from gsnn.convert.input_binding import fixed_arguments, forward_parameters
    from gsnn.convert.pre_trace import prepare_for_tracing
    from gsnn.convert.rules import OpRole, activation_kind, role_of
    from gsnn.convert.tracer import trace_with_fixed_arguments

    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must lie in (0, 100], got {percentile!r}.")
    calls = calibration_calls(data, model)
    if mask is not None and len(calls) > 1:
        raise ValueError("A row mask selects nodes of one graph; pass one batch with a mask.")
    was_training = model.training
    model.eval()
    try:
        # as the converter sees it: GINConv's MLP traced, shared modules one per path
        traceable = prepare_for_tracing(copy.deepcopy(model))
        graph_module = trace_with_fixed_arguments(traceable, fixed_arguments(model, calls[0]))
    finally:
        model.train(was_training)
    redirect_in_place_activations(graph_module)  # x.relu_() then x: the QCFS output
    modules = dict(graph_module.named_modules())
    sites = [
        node
        for node in graph_module.graph.nodes
        if node.op.startswith("call")
        and role_of(node, modules) is OpRole.ACTIVATION
        and activation_kind(node, modules) == "relu"
    ]
    if not sites:
        raise ValueError(
            "qcfs_from_relu found no ReLU (nn.ReLU, F.relu, torch.relu or .relu()) to replace."
        )
    signature = inspect.signature(model.forward)
    batches = []  # the traced graph's placeholders are the forward parameters, in order
    for call in calls:
        bound = signature.bind(*call.args, **call.kwargs)
        bound.apply_defaults()
        batches.append(tuple(bound.arguments[p.name] for p in forward_parameters(model)))
    statistics = calibrate(graph_module, batches, [n.name for n in sites], mask).statistics
    bounds = {n.name: max(statistics[n.name].percentile(percentile), 1e-12) for n in sites}

    module_sites = [n for n in sites if n.op == "call_module"]
    called_once = len({n.target for n in module_sites}) == len(sites)
    if called_once:  # keep the user's class: replace each ReLU module in place
        quantised = copy.deepcopy(model).eval()
        for node in sites:
            parent_name, _, child = node.target.rpartition(".")
            parent = quantised.get_submodule(parent_name) if parent_name else quantised
            setattr(parent, child, QCFS(levels=levels, init_threshold=bounds[node.name]))
    else:
        quantised = _with_one_qcfs_per_site(graph_module, sites, bounds, levels)
    labels = getattr(data, "y", None) if len(calls) == 1 else None
    quantised.qcfs_report = _report(model, quantised, calls, labels, mask)
    if quantised.qcfs_report["agreement"] < AGREEMENT_WARNING:
        warnings.warn(
            f"qcfs_from_relu: with L = {levels} the QCFS model keeps the ReLU model's "
            f"prediction on {quantised.qcfs_report['agreement']:.1%} of the calibration rows; "
            "fine-tune it, or raise levels or the percentile.",
            stacklevel=2,
        )
    return quantised


def _with_one_qcfs_per_site(
    graph_module: fx.GraphModule, sites: List[fx.Node], bounds: Dict[str, float], levels: int
) -> fx.GraphModule:
    """Route every ReLU call site of ``graph_module`` through a QCFS module of its own."""
    for node in sites:
        name = f"qcfs_{node.name}"
        graph_module.add_submodule(name, QCFS(levels=levels, init_threshold=bounds[node.name]))
        with graph_module.graph.inserting_after(node):
            replacement = graph_module.graph.call_module(name, (node.args[0],))
        node.replace_all_uses_with(replacement)
        graph_module.graph.erase_node(node)
    graph_module.graph.lint()
    graph_module.recompile()
    graph_module.delete_all_unused_submodules()
    return graph_module.eval()


def _report(
    relu: nn.Module,
    quantised: nn.Module,
    calls: list,
    labels: Optional[Tensor],
    mask: Optional[Tensor],
) -> dict:
    """How far ``quantised`` moved from ``relu`` on the calibration rows (``labels``: the
    classes of a single batch's rows, if known)."""
    was_training = relu.training
    relu.eval()
    try:
        outputs = [(call.run(relu).argmax(-1), call.run(quantised).argmax(-1)) for call in calls]
    finally:
        relu.train(was_training)
    rows = slice(None) if mask is None else mask
    same = torch.cat([(before == after)[rows] for before, after in outputs])
    report = {"agreement": float(same.float().mean()), "rows": int(same.numel())}
    before, after = outputs[0]
    if isinstance(labels, Tensor) and labels.shape == before.shape:
        report["relu_accuracy"] = float((before == labels)[rows].float().mean())
        report["qcfs_accuracy"] = float((after == labels)[rows].float().mean())
    return report
