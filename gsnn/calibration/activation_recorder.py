"""Running a traced ANN to collect activation statistics at every activation site."""

from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, fx

from gsnn.calibration.site_statistics import SiteStatistics, summary_parts


class ActivationRecorder(fx.Interpreter):
    """Runs a traced ANN, keeps the outputs of the named nodes and notes every sample shape.

    Attributes:
        outputs (dict): node name to the output of each named node.
        sample_shapes (dict): node name to the shape of one sample (without the
            leading batch or node axis) of every tensor-valued node.
    """

    def __init__(self, module: fx.GraphModule, node_names: Sequence[str]) -> None:
        super().__init__(module)
        self.node_names = set(node_names)
        self.outputs: Dict[str, Tensor] = {}
        self.sample_shapes: Dict[str, Tuple[int, ...]] = {}

    def run_node(self, node: fx.Node):
        result = super().run_node(node)
        if isinstance(result, Tensor) and result.dim() >= 1:
            self.sample_shapes[node.name] = tuple(result.shape[1:])
        if node.name in self.node_names:
            self.outputs[node.name] = result.detach()
        return result


@dataclass
class Calibration:
    """What calibration saw.

    Attributes:
        statistics (dict): activation-site node name to its :class:`SiteStatistics`.
        sample_shapes (dict): node name to the shape of one sample of its output
            (without the batch or node axis), for every tensor-valued node.
    """

    statistics: Dict[str, SiteStatistics]
    sample_shapes: Dict[str, Tuple[int, ...]]


@torch.no_grad()
def calibrate(
    ann: fx.GraphModule,
    batches: Sequence[Sequence],
    site_names: Sequence[str],
    rows: Optional[Tensor] = None,
) -> Calibration:
    """Run ``ann`` on every batch of inputs and summarise the activations at each site.

    Args:
        ann: the traced, normalised ANN in eval mode.
        batches: positional model inputs per batch (e.g. ``[(x, edge_index)]``
            for a graph, ``[(images,), ...]`` for a CNN).
        site_names: fx node names of the activation sites.
        rows: optional boolean mask or index over the first axis (the nodes of
            a graph) restricting which rows enter the statistics.
    """
    parts: Dict[str, list] = {name: [] for name in site_names}
    sample_shapes: Dict[str, Tuple[int, ...]] = {}
    for inputs in batches:
        recorder = ActivationRecorder(ann, site_names)
        recorder.run(*inputs)
        sample_shapes = sample_shapes or recorder.sample_shapes
        for name in site_names:
            activations = recorder.outputs[name]
            if not torch.isfinite(activations).all():
                raise ValueError(
                    f"The ANN's activations at site '{name}' hold NaN or infinite values on "
                    "the calibration data, so no threshold can be calibrated there; check the "
                    "model's weights and the data (edge weights included) for NaN or inf."
                )
            parts[name].append(summary_parts(activations if rows is None else activations[rows]))
    statistics = {name: SiteStatistics.from_parts(parts[name]) for name in site_names}
    return Calibration(statistics, sample_shapes)
