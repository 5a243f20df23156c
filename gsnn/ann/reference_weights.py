"""Names of saved reference-model weights, and rebuilding a model from such a file."""

import os
import re
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from gsnn.ann.lenet5 import LeNet5
from gsnn.ann.resnet20 import ResNet20
from gsnn.ann.vgg_small import VGGSmall

REFERENCE_MODELS = {"lenet5": LeNet5, "vggsmall": VGGSmall, "resnet20": ResNet20}
_NAME = re.compile(
    r"^(?P<dataset>[a-z0-9_]+)-(?P<model>[a-z0-9_]+)-(?P<variant>[a-z_]+?)(?:L(?P<levels>\d+))?"
    r"-seed(?P<seed>\d+)\.pt$"
)


@dataclass(frozen=True)
class ReferenceWeights:
    """What a weight file's name says: ``<dataset>-<model>-<variant>-seed<k>.pt``.

    The variant is the activation name, with ``L<levels>`` appended for QCFS
    (``relu``, ``threshold_relu``, ``qcfsL4``).
    """

    dataset: str
    model: str
    activation: str
    seed: int
    levels: Optional[int] = None

    @property
    def variant(self) -> str:
        """The activation part of the file name."""
        return self.activation if self.levels is None else f"{self.activation}L{self.levels}"

    @property
    def file_name(self) -> str:
        """``<dataset>-<model>-<variant>-seed<k>.pt``."""
        return f"{self.dataset}-{self.model}-{self.variant}-seed{self.seed}.pt"

    @classmethod
    def parse(cls, path: str) -> "ReferenceWeights":
        """Read dataset, model, activation, levels and seed from a weight file's name."""
        match = _NAME.match(os.path.basename(path))
        if match is None:
            raise ValueError(
                f"{os.path.basename(path)!r} is not a reference weight name "
                "'<dataset>-<model>-<activation>[L<levels>]-seed<k>.pt'."
            )
        levels = match["levels"]
        return cls(
            dataset=match["dataset"],
            model=match["model"],
            activation=match["variant"],
            seed=int(match["seed"]),
            levels=None if levels is None else int(levels),
        )

    def build(self) -> nn.Module:
        """A freshly initialised model of this architecture and activation."""
        if self.model not in REFERENCE_MODELS:
            raise ValueError(
                f"Unknown reference model {self.model!r}; choose one of {sorted(REFERENCE_MODELS)}."
            )
        options = {} if self.levels is None else {"qcfs_levels": self.levels}
        return REFERENCE_MODELS[self.model](activation=self.activation, **options)


def load_reference_model(path: str) -> nn.Module:
    """Rebuild the model a weight file's name describes and load its state dict.

    Args:
        path (str): a file saved as ``torch.save(model.state_dict(), path)`` under the name
            ``<dataset>-<model>-<variant>-seed<k>.pt`` (see :class:`ReferenceWeights`).

    Returns:
        the model, in eval mode.
    """
    model = ReferenceWeights.parse(path).build()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()
