"""Calibration: activation statistics of the ANN at every activation call site."""

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor, fx


@dataclass
class SiteStatistics:
    """What calibration saw at one activation site.

    Attributes:
        max (float): largest activation.
        channel_max (Tensor): largest activation per channel (last axis), :math:`(F,)`.
        nonzero (Tensor): all non-zero activations, sorted ascending, :math:`(M,)`.
        count (int): number of activations seen (zeros included).
    """

    max: float
    channel_max: Tensor
    nonzero: Tensor
    count: int

    @classmethod
    def from_activations(cls, activations: Tensor) -> "SiteStatistics":
        """Summarise activations of shape :math:`(N, *, F)`."""
        flat = activations.detach().reshape(-1, activations.shape[-1])
        nonzero = flat[flat != 0].sort().values
        return cls(
            max=float(flat.max()) if flat.numel() else 0.0,
            channel_max=flat.max(dim=0).values if flat.numel() else torch.zeros(flat.shape[-1]),
            nonzero=nonzero,
            count=flat.numel(),
        )

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100) of the non-zero activations, linear interpolation.

        Computed exactly on the sorted values (no per-batch estimate). Returns 0
        when the site never activated.
        """
        if not 0 < p <= 100:
            raise ValueError(f"percentile must lie in (0, 100], got {p!r}.")
        values = self.nonzero
        if values.numel() == 0:
            return 0.0
        position = (values.numel() - 1) * p / 100.0
        low = int(position)
        high = min(low + 1, values.numel() - 1)
        fraction = position - low
        return float(values[low] * (1 - fraction) + values[high] * fraction)


class ActivationRecorder(fx.Interpreter):
    """Runs a traced ANN and keeps the outputs of the named nodes."""

    def __init__(self, module: fx.GraphModule, node_names: Sequence[str]) -> None:
        super().__init__(module)
        self.node_names = set(node_names)
        self.outputs: Dict[str, Tensor] = {}

    def run_node(self, node: fx.Node):
        result = super().run_node(node)
        if node.name in self.node_names:
            self.outputs[node.name] = result.detach()
        return result


@torch.no_grad()
def collect_site_statistics(
    ann: fx.GraphModule,
    inputs: Sequence,
    site_names: Sequence[str],
    rows: Optional[Tensor] = None,
) -> Dict[str, SiteStatistics]:
    """Run ``ann`` on ``inputs`` and summarise the activations at each site.

    Args:
        ann: the traced, normalised ANN in eval mode.
        inputs: positional inputs of the model (e.g. ``x, edge_index``).
        site_names: fx node names of the activation sites.
        rows: optional boolean mask or index over the first axis (the nodes of
            a graph) restricting which rows enter the statistics.
    """
    recorder = ActivationRecorder(ann, site_names)
    recorder.run(*inputs)
    statistics = {}
    for name in site_names:
        activations = recorder.outputs[name]
        if rows is not None:
            activations = activations[rows]
        statistics[name] = SiteStatistics.from_activations(activations)
    return statistics
