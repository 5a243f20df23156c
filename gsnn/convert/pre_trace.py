"""Rewrites of the ANN's deep copy before tracing: every op the converter handles becomes
a traced module of its own, at one path."""

import copy
from typing import ClassVar, Dict, Optional

from torch import Tensor, nn
from torch_geometric.nn import GINConv

from gsnn.ann.gin_aggregation import GINAggregation


class SplitGINConv(nn.Module):
    """A ``GINConv`` as its sum aggregation followed by its ``nn``, which the tracer then
    traces into (its layers and activations convert one by one).

    Args:
        conv (GINConv): the trained convolution; its ``nn`` is reused, not copied.
    """

    becomes: ClassVar[str] = "SpikingGINAggregation, then its nn converted op by op"

    def __init__(self, conv: GINConv) -> None:
        super().__init__()
        self.aggregation = GINAggregation.from_gin_conv(conv)
        self.nn = conv.nn

    def forward(self, x: Tensor, edge_index: Tensor, size: Optional[tuple] = None) -> Tensor:
        return self.nn(self.aggregation(x, edge_index))


SPLIT_MODULES: Dict[type, type] = {GINConv: SplitGINConv}
"""ANN modules rewritten into traceable parts before tracing (by exact type), and the
rewrite; its ``becomes`` says what they convert into."""


def split_modules(model: nn.Module) -> None:
    """Replace every module of a type in :data:`SPLIT_MODULES` (in place) by its rewrite."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) in SPLIT_MODULES:
                setattr(parent, name, SPLIT_MODULES[type(child)](child))


def unshare_modules(model: nn.Module) -> None:
    """Give every module registered at several paths a copy of its own at each later path.

    PyG's ``BasicGNN`` registers its activation ``self.act`` at the model and
    inside every GIN MLP; a traced graph names a module by one path only, so
    each path gets its own module (the weights are equal, so is the function).
    """
    first_path: Dict[int, str] = {}
    for path, module in list(model.named_modules(remove_duplicate=False)):
        if path and id(module) in first_path:
            parent_path, _, name = path.rpartition(".")
            setattr(model.get_submodule(parent_path), name, copy.deepcopy(module))
        else:
            first_path.setdefault(id(module), path)


def prepare_for_tracing(model: nn.Module) -> nn.Module:
    """Apply the rewrites to ``model`` (a deep copy of the user's ANN) and return it."""
    unshare_modules(model)
    split_modules(model)
    return model
