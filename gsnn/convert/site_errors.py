"""Where a conversion loses accuracy: each neuron against the ANN activation it replaces."""

import copy
import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
from torch import Tensor, nn

from gsnn.convert.calibrate import ActivationRecorder
from gsnn.convert.spiking_network import SpikingNetwork
from gsnn.convert.tracer import trace
from gsnn.neurons import IFNeuron, TwoPhaseNeuron

COUNT_CODED_NEURONS = (IFNeuron, TwoPhaseNeuron)
COUNT_CODED_METHODS = "rate, optimal, qcfs, burst, two-phase or dual-phase"


@dataclass
class SiteError:
    r"""How far one neuron site's decoded output lies from the ANN activation it replaces.

    The decoded output of a neuron is what its spikes carry to the next layer,
    :math:`r = \theta \sum_t s(t) / T` (signed and burst spikes counted with
    their values). All means run over the chosen rows and every value of a row.

    Attributes:
        site (str): the ANN activation node (fx name) the neuron replaces.
        values (int): activation values per row (e.g. channels x height x width).
        threshold (float): the neuron's threshold :math:`\theta` (mean over channels).
        ann_mean (float): mean ANN activation :math:`a`.
        snn_mean (float): mean decoded output :math:`r`.
        mean_abs_error (float): mean :math:`|r - a|`.
        step_error (float): ``mean_abs_error`` in units of one spike's worth,
            :math:`\theta / T` (0.5 is what rounding to the nearest count costs at most).
        within_half_step (float): fraction of values with :math:`|r - a| \le \theta / 2T`,
            i.e. the SNN's count is the nearest one to the ANN's value.
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


def _spike_counts(snn: SpikingNetwork, inputs, neuron_names: List[str]) -> Dict[str, Tensor]:
    """Run ``snn`` once; the per-value spike count summed over steps of each named neuron."""
    counts: Dict[str, Tensor] = {}
    handles = []

    def counter(name: str):
        def hook(module, args, spikes):  # called once per chunk of steps
            total = spikes.sum(dim=0)
            counts[name] = total if name not in counts else counts[name] + total

        return hook

    try:
        for name in neuron_names:
            handles.append(getattr(snn.body, name).register_forward_hook(counter(name)))
        snn(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return counts


@torch.no_grad()
def site_errors(
    snn: SpikingNetwork, model: nn.Module, *inputs, mask: Optional[Tensor] = None
) -> List[SiteError]:
    r"""Compare every neuron of a converted network with the ANN activation it replaced.

    Runs ``snn`` and the ANN ``model`` it was converted from on the same inputs
    and reports, per activation site in graph order, how far the neurons'
    decoded outputs :math:`\theta \sum_t s(t)/T` lie from the ANN's activations.
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
        *inputs: the positional inputs of one batch, as for ``model(*inputs)``,
            e.g. ``(x, edge_index)`` or ``(images,)``.
        mask (Tensor, optional): rows (first axis, e.g. test nodes) that enter the
            means, as a boolean mask or indices; default every row.

    Returns:
        list of SiteError: one per neuron site, in the order of the spiking body.

    Raises:
        ValueError: the method's neurons weight their spikes by step (phase,
            one-spike, CSS), so a spike count does not decode them; or ``model`` has
            no activation where ``snn`` has a neuron (it is not the converted model).
    """
    neuron_names = list(snn.thresholds)
    for name in neuron_names:
        neuron = getattr(snn.body, name)
        if not isinstance(neuron, COUNT_CODED_NEURONS):
            raise ValueError(
                f"site_errors decodes spike counts (theta * sum_t s(t) / T), but {name} is a "
                f"{type(neuron).__name__}, whose spikes weigh differently by step; it "
                f"supports the count-coded methods ({COUNT_CODED_METHODS})."
            )
    sites = [name[len("neuron_") :] for name in neuron_names]
    ann = trace(copy.deepcopy(model).eval(), len(inputs))
    recorder = ActivationRecorder(ann, sites)
    recorder.run(*inputs)
    missing = [site for site in sites if site not in recorder.outputs]
    if missing:
        raise ValueError(
            f"The model has no activation node named {', '.join(map(repr, missing))}, where "
            "the spiking network has neurons; pass the model that was converted."
        )
    counts = _spike_counts(snn, inputs, neuron_names)
    errors = []
    for site, name in zip(sites, neuron_names):
        threshold = getattr(snn.body, name).threshold.double()
        decoded = threshold * counts[name].double() / snn.T
        step = torch.broadcast_to(threshold / snn.T, decoded.shape)
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
