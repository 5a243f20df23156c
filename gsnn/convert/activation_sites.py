"""Finding the activation call sites of a traced ANN and calibrating them."""

from typing import Dict, List, Optional, Tuple

from torch import Tensor, fx

from gsnn.calibration import calibrate
from gsnn.convert.errors import ConversionError
from gsnn.convert.rules import OpRole, activation_kind, qualified_name, role_of
from gsnn.methods import ActivationSite, ConversionMethod


def activation_sites(
    graph_module: fx.GraphModule,
    batches: List[Tuple],
    rows: Optional[Tensor],
    method: ConversionMethod,
) -> Tuple[List[ActivationSite], Dict[str, Tuple[int, ...]]]:
    """Every activation call site with its calibration statistics, and the sample shape
    of every node's output (node name to shape, without the batch or node axis).

    Raises:
        ConversionError: the method rejects some sites (naming each by module path).
    """
    modules = dict(graph_module.named_modules())
    nodes = [
        n
        for n in graph_module.graph.nodes
        if n.op.startswith("call") and role_of(n, modules) is OpRole.ACTIVATION
    ]
    calibration = calibrate(graph_module, batches, [n.name for n in nodes], rows)
    sites = [
        ActivationSite(
            name=n.name,
            kind=activation_kind(n, modules),
            module=modules.get(n.target) if n.op == "call_module" else None,
            statistics=calibration.statistics[n.name],
        )
        for n in nodes
    ]
    problems = [(n, p) for n, p in zip(nodes, (method.check_site(s) for s in sites)) if p]
    if problems:  # name only the sites the method rejects, by qualified name
        raise ConversionError(
            "; ".join(p for _, p in problems), [qualified_name(n, modules) for n, _ in problems]
        )
    return sites, calibration.sample_shapes
