"""The structural-op contract: weightless ops that spikes pass through unchanged in kind."""

from abc import ABC, abstractmethod
from typing import ClassVar, Optional, Sequence

from torch import nn


class StructuralOp(nn.Module, ABC):
    """Base class of weightless ops between neurons and weighted layers (pooling, flattening).

    A structural op commutes with a positive per-channel scaling of its input,
    so the converter folds the threshold of the neurons before it through it
    into the next weighted layer, which then receives spikes. Register it for
    its ANN types with :func:`gsnn.nn.registry.converts`.

    Attributes:
        exact_for_counts_only (bool): the op is exact on spike counts only (max
            pooling of running counts); the converter refuses it for methods whose
            spike values depend on time (phase, CSS).
        stateful (bool): the op carries state from one chunk of steps to the next;
            it then provides ``keep_state`` and ``reset()``, and every call site
            gets its own instance.
    """

    exact_for_counts_only: ClassVar[bool] = False
    stateful: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def from_ann(cls, module: nn.Module) -> "StructuralOp":
        """Build the op from the ANN's module.

        Raises:
            ValueError: an option has no spiking equivalent; the message names it.
        """

    def events_per_unit(self, sample_shape: Sequence[int]) -> Optional[float]:
        """Spike events one unit of output stands for on inputs of ``sample_shape`` (one
        sample); ``None`` when thresholds cannot fold through (currents go on instead)."""
        return 1.0
