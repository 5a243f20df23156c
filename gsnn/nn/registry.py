"""The conversion registry: which spiking module replaces which ANN module.

Every spiking layer registers itself next to its class::

    @converts(GCNConv)
    class SpikingGCNConv(SpikingGraphLayer):
        ...

The converter looks rules up by the exact type of the ANN module (a subclass
may change ``forward``, so it needs a rule of its own), and
:func:`gsnn.supported_ops` lists what is registered.
"""

import inspect
from typing import Dict, Optional, Type

from torch import nn

from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.synaptic_layer import WeightedLayer

RULES: Dict[type, Type[nn.Module]] = {}


def converts(*ann_types: type):
    """Class decorator: the decorated spiking class replaces modules of ``ann_types``.

    Raises:
        TypeError: the class does not fulfil the contract of a
            :class:`~gsnn.nn.synaptic_layer.WeightedLayer` or a
            :class:`~gsnn.nn.structural_op.StructuralOp` (naming what is missing),
            or an ANN type already has a rule.
    """
    if not ann_types or not all(isinstance(t, type) for t in ann_types):
        raise TypeError("converts(...) takes the ANN module types the class replaces.")

    def register(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, (WeightedLayer, StructuralOp))):
            raise TypeError(
                f"{getattr(cls, '__name__', cls)} must subclass WeightedLayer (a layer with "
                "weights) or StructuralOp (a weightless op) to register a conversion rule."
            )
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(cls.__abstractmethods__))
            raise TypeError(f"{cls.__name__} cannot register: it does not implement {missing}.")
        if issubclass(cls, StructuralOp) and cls.stateful and not hasattr(cls, "reset"):
            raise TypeError(f"{cls.__name__} is stateful but has no reset() method.")
        for ann_type in ann_types:
            if ann_type in RULES:
                raise TypeError(
                    f"{ann_type.__name__} is already converted by {RULES[ann_type].__name__}."
                )
        for ann_type in ann_types:
            RULES[ann_type] = cls
        return cls

    return register


def rule_for(module: nn.Module) -> Optional[Type[nn.Module]]:
    """The spiking class registered for the exact type of ``module``, or ``None``."""
    return RULES.get(type(module))
