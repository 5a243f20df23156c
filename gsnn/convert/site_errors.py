"""Where a conversion loses accuracy: each neuron against the ANN activation it replaces."""

import copy
import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

from gsnn.calibration import ActivationRecorder
from gsnn.convert.input_binding import ModelCall, trace_call
from gsnn.convert.pre_trace import prepare_for_tracing
from gsnn.convert.spiking_network import SpikingNetwork


@dataclass
class SiteError:
    r"""How far one neuron site's decoded output lies from the ANN activation it replaces.

    The decoded output of a neuron is what its spikes carry to the next layer,
    :math:`r = \theta \sum_t w(t)\, s(t)` with the method's spike values
    :math:`w` (:meth:`~gsnn.methods.ConversionMethod.spike_values`):
    :math:`w = 1/T` for the count codes, so :math:`r = \theta N / T` (signed and
    burst spikes counted with their values); phase, digit and ladder weights for
    phase, CSS and one-spike. All means run over the chosen rows and every value
    of a row.

    Attributes:
        site (str): the ANN activation node (fx name) the neuron replaces.
        values (int): activation values per row (e.g. channels x height x width).
        threshold (float): the neuron's threshold :math:`\theta` (mean over channels).
        ann_mean (float): mean ANN activation :math:`a`.
        snn_mean (float): mean decoded output :math:`r`.
        mean_abs_error (float): mean :math:`|r - a|`.
        step_error (float): ``mean_abs_error`` in units of the smallest spike's
            worth, :math:`\theta \min_t w(t)`: :math:`\theta / T` for count codes (0.5 is
            what rounding to the nearest count costs at most), the last digit for
            phase and CSS, the lowest rung :math:`\theta B^{-(T-1)}` for one-spike.
        within_half_step (float): fraction of values with :math:`|r - a|` at most half
            that step, i.e. (count codes, CSS) the SNN's value is the nearest one it
            can represent to the ANN's.
        relative_error (float): ``mean_abs_error`` over the mean :math:`|a|` (``nan`` if 0).
    """

    site: str
    values: int
    threshold: float
    ann_mean: float
    snn_mean: float
    mean_abs_error: float
    step_error: float
    within_half_step: float
    relative_error: float


def _weighted_spike_sums(
    snn: SpikingNetwork, call: ModelCall, weights: Dict[str, Tensor]
) -> Dict[str, Tensor]:
    r"""Run ``snn`` once; per neuron in ``weights`` and value, :math:`\sum_t w(t) s(t)`."""
    sums: Dict[str, Tensor] = {}
    seen: Dict[str, int] = {}  # steps already summed, per neuron
    handles = []

    def accumulate(name: str, weights: Tensor):
        def hook(module, args, spikes):  # called once per chunk of steps, in order
            first = seen.get(name, 0)
            seen[name] = first + spikes.shape[0]
            chunk = weights[first : seen[name]].view(-1, *([1] * (spikes.dim() - 1)))
            total = (chunk * spikes.double()).sum(dim=0)
            sums[name] = total if name not in sums else sums[name] + total

        return hook

    try:
        for name, values in weights.items():
            handles.append(getattr(snn.body, name).register_forward_hook(accumulate(name, values)))
        call.run(snn)
    finally:
        for handle in handles:
            handle.remove()
    return sums


@torch.no_grad()
def site_errors(
    snn: SpikingNetwork, model: nn.Module, *args, mask: Optional[Tensor] = None, **kwargs
) -> List[SiteError]:
    r"""Compare every neuron of a converted network with the ANN activation it replaced.

    Runs ``snn`` and the ANN ``model`` it was converted from on the same inputs
    and reports, per activation site in graph order, how far the neurons'
    decoded outputs :math:`\theta \sum_t w(t) s(t)` (:math:`\theta N/T` for count
    codes; every method's spike values, see :class:`SiteError`) lie from the ANN's
    activations.
    A site whose error jumps marks where the conversion loses accuracy: clipping
    (``snn_mean`` below ``ann_mean`` where activations exceed :math:`\theta`),
    quantisation (at most half a step per value for a neuron that rounds, one
    step for one that floors), or uneven input arrival and residual membrane
    charge (errors beyond that, a bias of ``snn_mean`` against ``ann_mean``,
    growing with depth). ``snn`` runs once, so its :attr:`last_step_logits`
    and :attr:`last_stats` hold that run afterwards.

    Example::

        snn = gsnn.convert(model, data, method="qcfs", T=8)
        for error in gsnn.site_errors(snn, model, data.x, data.edge_index):
            print(error.site, error.step_error, error.within_half_step)

    Args:
        snn (SpikingNetwork): the network ``gsnn.convert`` built from ``model``.
        model (nn.Module): the ANN that was converted (left unchanged).
        *args, **kwargs: one batch, passed as to ``model(*args, **kwargs)``, e.g.
            ``(x, edge_index)``, ``(data,)`` or ``(images,)``.
        mask (Tensor, optional): rows (first axis, e.g. test nodes) that enter the
            means, as a boolean mask or indices; default every row.

    Returns:
        list of SiteError: one per neuron site, in the order of the spiking body.

    Raises:
        ValueError: ``model`` has no activation where ``snn`` has a neuron (it is
            not the converted model).
    """
    neuron_names = list(snn.thresholds)
    sites = [snn.neuron_sites[name] for name in neuron_names]
    call = ModelCall(args, kwargs)
    ann, binding = trace_call(prepare_for_tracing(copy.deepcopy(model)).eval(), call)
    recorder = ActivationRecorder(ann, sites)
    recorder.run(*binding(*args, **kwargs))
    missing = [site for site in sites if site not in recorder.outputs]
    if missing:
        raise ValueError(
            f"The model has no activation node named {', '.join(map(repr, missing))}, where "
            "the spiking network has neurons; pass the model that was converted."
        )
    weights = {
        name: snn.method.spike_values(snn.depths.get(name, 1), snn.T, snn.steps)
        for name in neuron_names
    }
    sums = _weighted_spike_sums(snn, call, weights)
    errors = []
    for site, name in zip(sites, neuron_names):
        threshold = getattr(snn.body, name).threshold.double()
        decoded = threshold * sums[name]
        smallest = weights[name][weights[name] > 0].min()
        step = torch.broadcast_to(threshold * smallest, decoded.shape)
        target = recorder.outputs[site].double()
        if mask is not None:
            decoded, target, step = decoded[mask], target[mask], step[mask]
        gap = (decoded - target).abs()
        ann_scale = float(target.abs().mean())
        errors.append(
            SiteError(
                site=site,
                values=decoded[0].numel(),
                threshold=float(threshold.mean()),
                ann_mean=float(target.mean()),
                snn_mean=float(decoded.mean()),
                mean_abs_error=float(gap.mean()),
                step_error=float((gap / step).mean()),
                within_half_step=float((gap <= step / 2 * (1 + 1e-9)).double().mean()),
                relative_error=float(gap.mean()) / ann_scale if ann_scale > 0 else math.nan,
            )
        )
    return errors


def site_error_table(errors: List[SiteError]) -> str:
    """A Markdown table of :func:`site_errors`' result, one row per site.

    *bias* is :math:`(\bar r - \bar a) / \bar a`: systematic over- (+) or under-firing (-).
    """
    lines = [
        "| site | values | threshold | ANN mean | SNN mean | bias | mean abs error "
        "| error (steps) | within half a step | relative error |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in errors:
        bias = f"{100 * (e.snn_mean - e.ann_mean) / e.ann_mean:+.1f} %" if e.ann_mean else "n/a"
        lines.append(
            f"| {e.site} | {e.values} | {e.threshold:.4g} | {e.ann_mean:.4g} | {e.snn_mean:.4g} "
            f"| {bias} | {e.mean_abs_error:.4g} | {e.step_error:.3f} | {e.within_half_step:.3f} "
            f"| {e.relative_error:.3f} |"
        )
    return "\n".join(lines)
