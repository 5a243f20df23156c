"""What every command needs from one kind of data set: nodes of a graph, graphs, or images.

A :class:`Task` knows the reference models of its kind, their training defaults
and the combinations that cannot work; :meth:`Task.prepare` turns what a loader
of :mod:`gsnn.data` returned into a :class:`TaskData`, which trains a model,
scores it on a split, gives the calibration data of a conversion and evaluates a
converted network.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Type

from torch import nn

from gsnn.convert import SpikingNetwork
from gsnn.methods import ConversionMethod


@dataclass(frozen=True)
class TrainingDefaults:
    """What ``--hidden``, ``--layers`` and ``--epochs`` mean when unset (``None``: the
    architecture is fixed, the option is refused), and whether ``--residual`` applies."""

    hidden: Optional[int]
    layers: Optional[int]
    epochs: int
    residual: bool = False


class TaskData:
    """One data set, loaded with its split; the interface the commands use.

    Attributes:
        num_features (int): input features (channels, for images).
        num_classes (int): classes.
        unit (str): what is classified, in the plural (``"nodes"``).
        splits (tuple): the splits scored, of ``"train"``, ``"val"``, ``"test"``.
    """

    num_features: int
    num_classes: int
    unit: str
    splits: Tuple[str, ...]

    def train(self, model: nn.Module, epochs: int, seed: int, progress: bool) -> None:
        """Train ``model`` on the training split (in place; it ends in eval mode)."""
        raise NotImplementedError

    def accuracy(self, model: nn.Module, split: str = "test") -> float:
        """Accuracy in [0, 1] of an ANN (or SNN) on ``split``."""
        raise NotImplementedError

    def size(self, split: str = "test") -> int:
        """How many nodes, graphs or images ``split`` holds."""
        raise NotImplementedError

    def calibration(self, recipe: ConversionMethod) -> Dict[str, Any]:
        """Keyword arguments of :func:`gsnn.convert` that give it its calibration data
        (never test data)."""
        raise NotImplementedError

    def evaluate_snn(self, snn: SpikingNetwork, progress: bool = False) -> Dict[str, Any]:
        """Score ``snn``: the keys of :func:`gsnn.cli.snn_evaluation.evaluate_snn`."""
        raise NotImplementedError

    def input_range(self) -> Tuple[float, float]:
        """The smallest and the largest input value (spike codes need them in [0, 1])."""
        raise NotImplementedError

    def site_error_inputs(self) -> Optional[Tuple[tuple, Dict[str, Any]]]:
        """The test split as the arguments of :func:`gsnn.site_errors` after the SNN and
        the model (positional, keyword), or ``None`` where the task offers none."""
        return None


class Task:
    """One kind of classification.

    Attributes:
        name (str): ``"node"``, ``"graph"`` or ``"image"`` (recorded in saved ANNs).
        title (str): e.g. ``"node classification"``.
        models (dict): ``--model`` name to the class, built from JSON options.
        defaults (TrainingDefaults): the training options' values when unset.
        trains_dual_phase (bool): whether dual-phase's two-stage ANN can be trained.
    """

    name: str
    title: str
    models: Dict[str, Type[nn.Module]]
    defaults: TrainingDefaults
    trains_dual_phase = False

    def default_model(self, dataset: str) -> str:
        """The ``--model`` used for ``dataset`` when none is given."""
        return next(iter(self.models))

    def refusal(self, dataset: str, model: str, method: Type[ConversionMethod]) -> str:
        """Why ``model`` trained for ``method`` cannot work on ``dataset`` (``""``: it can)."""
        if method.accepted_activations[0] == "noisy_qc" and not self.trains_dual_phase:
            return (
                f"--method {method.name} trains its ANN in two stages "
                "(gsnn.ann.dual_phase_finetune), for node classification only; on "
                f"{dataset} train for qcfs or two-phase instead (dual-phase converts a saved "
                "QCFS ANN too: gsnn convert --load FILE --method dual-phase)."
            )
        if model not in self.models:
            return (
                f"--model {model} is not a model for {self.title}; for {dataset} choose one "
                f"of {', '.join(self.models)}."
            )
        return ""

    def model_options(
        self, model: str, data: TaskData, hidden: int, layers: int, residual: bool
    ) -> Dict[str, Any]:
        """The constructor options of ``model`` for ``data``, without the activation (here
        those every graph network of :mod:`gsnn.ann` and :mod:`gsnn.cli` takes)."""
        return dict(
            in_channels=data.num_features,
            hidden_channels=hidden,
            out_channels=data.num_classes,
            num_layers=layers,
        )

    def coding_refusal(self, dataset: str, coding: str) -> str:
        """Why the input coding cannot work on ``dataset`` (``""``: it can)."""
        return ""

    def prepare(self, loaded: Any, seed: int, test_limit: Optional[int]) -> TaskData:
        """The loaded data set with the split ``seed`` picks where it has no given one
        (``test_limit``: score only that many test samples, for image data sets)."""
        raise NotImplementedError
