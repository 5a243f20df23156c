"""What a conversion method is: thresholds from statistics, a neuron, a coder."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, List, Optional, Tuple

import torch
from torch import Tensor, nn

from gsnn.calibration import SiteStatistics
from gsnn.nn.readout import MeanReadout


def one_hot_step(step: int, steps: int) -> Tensor:
    """Step gains that pass one step (``step``) and silence the others."""
    gains = torch.zeros(steps, dtype=torch.float64)
    gains[step] = 1.0
    return gains


def check_percentile(method: str, percentile: float) -> float:
    """Raise ``ValueError`` unless ``percentile`` lies in (0, 100]; return it."""
    if not 0 < percentile <= 100:
        raise ValueError(f"{method}: percentile must lie in (0, 100], got {percentile!r}.")
    return percentile


def check_channel_wise(method: str, channel_wise: bool) -> bool:
    """Raise ``ValueError`` unless ``channel_wise`` is a bool; return it."""
    if not isinstance(channel_wise, bool):
        raise ValueError(f"{method}: channel_wise must be True or False, got {channel_wise!r}.")
    return channel_wise


def percentile_threshold(
    site: "ActivationSite", percentile: float, channel_wise: bool = False
) -> Tensor:
    """The ``percentile`` of the site's non-zero activations (1, with a warning, where it
    never activated).

    A scalar, or with ``channel_wise`` one threshold per channel, :math:`(C,)`, each the
    percentile of that channel's values (Kim et al. 2020's channel-wise normalisation).
    """
    if channel_wise:
        values = site.statistics.channel_percentile(percentile)
        if not (values > 0).any():
            warn_never_active(site)
        return torch.where(values > 0, values, torch.ones_like(values))
    value = site.statistics.percentile(percentile)
    if not value > 0:
        warn_never_active(site)
    return torch.tensor(value if value > 0 else 1.0)


def warn_never_active(site: "ActivationSite") -> None:
    """Warn that ``site`` never activated in calibration, so its threshold is a placeholder."""
    warnings.warn(
        f"Activation site '{site.name}' never activated on the calibration data (all "
        f"{site.statistics.count} values were 0), so its threshold is a placeholder of 1.0 "
        "and its neurons may fire wrongly on other data. Calibrate on data that activates "
        "it, or check the layer before it (dead units).",
        stacklevel=3,
    )


@dataclass
class ActivationSite:
    """One activation call site of the ANN.

    Attributes:
        name (str): fx node name, unique per call site.
        kind (str): ``"relu"``, ``"threshold_relu"`` or ``"qcfs"``.
        module (nn.Module, optional): the activation module (``None`` for ``F.relu``).
        statistics (SiteStatistics): what calibration saw there.
    """

    name: str
    kind: str
    module: Optional[nn.Module]
    statistics: SiteStatistics


class ConversionMethod(ABC):
    """A named conversion recipe.

    Subclasses declare which ANN activations they accept, choose each site's
    threshold and build its neuron for a given number of time steps.
    """

    name: ClassVar[str]
    accepted_activations: ClassVar[Tuple[str, ...]]
    training_hint: ClassVar[str]
    # weighted and single-injection schedules assume the analog input coding
    accepts_spike_coded_input: ClassVar[bool] = True
    # a spike's value is monotone in its neuron's running count, so max pooling by running
    # counts is exact (methods.md O16b); weighted digit codes (phase, CSS) are not
    exact_max_pool: ClassVar[bool] = True
    # methods that fine-tune the built SNN against the ANN (dual-phase stage 2)
    calibrates_network: ClassVar[bool] = False

    def check_site(self, site: ActivationSite) -> Optional[str]:
        """A problem description if this method cannot convert ``site``, else ``None``."""
        if site.kind not in self.accepted_activations:
            return (
                f"method '{self.name}' converts {', '.join(self.accepted_activations)} "
                f"activations, but site '{site.name}' is {site.kind}; {self.training_hint}"
            )
        return None

    @abstractmethod
    def threshold(self, site: ActivationSite) -> Tensor:
        """The firing threshold of the neurons replacing ``site``: a scalar, or one per
        channel, :math:`(C,)` (the converter shapes it to broadcast over a sample)."""

    @abstractmethod
    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        """A neuron with ``threshold`` for ``T`` steps, ``depth`` neurons deep (1: first layer)."""

    def spike_values(self, depth: int, T: int, steps: int) -> Tensor:
        r"""What a spike of a neuron ``depth`` layers deep stands for, per simulated step.

        The neuron's output decodes to :math:`\theta \sum_t w(t)\, s(t)` with
        these weights :math:`w`, shape :math:`(\text{steps},)`, float64. Count
        codes (the default) weigh every step :math:`1/T`, so the decoded value is
        :math:`\theta N / T`; weighted codes override this with their digit or
        phase weights.
        """
        return torch.full((steps,), 1.0 / T, dtype=torch.float64)

    def bias_gains(self, input_depth: int, steps: int) -> Optional[Tensor]:
        """Weight per step of the bias of a layer fed by neurons ``input_depth`` deep.

        ``None`` (rate codes): the bias is added unweighted at every step.
        """
        return None

    def simulation_steps(self, depth: int, T: int) -> int:
        """Steps to simulate for a network ``depth`` spiking layers deep."""
        return T

    def make_readout(self, depth: int, T: int) -> nn.Module:
        """The non-spiking output decoder (default: running mean of the currents)."""
        return MeanReadout()

    def step_gains(self, source: Optional[str], steps: int) -> Optional[Tensor]:
        """Per-step weights a synaptic layer applies after its matmul, or ``None``.

        Args:
            source (str, optional): what feeds the layer: ``"spikes"`` (this
                method's neurons), ``"input"`` (the coded network input) or
                ``None`` (anything else, e.g. a residual sum).
            steps (int): simulated steps.
        """
        return None

    def branch_delay(self, depth_gap: int) -> int:
        """Steps by which a merge (residual add, concatenation) delays an input that is
        ``depth_gap`` spiking layers shallower than its deepest input.

        0 by default: online codes integrate whatever arrives, whenever it
        arrives, and window-pipelined codes (two-phase, one-spike) hand each
        layer one window of input, so a shortcut lines up with whole windows
        (its delay of ``depth_gap`` windows is implicit in their latency).
        """
        return 0

    def make_input_coder(self, x: Tensor) -> Optional[nn.Module]:
        """A coder the method brings for its own input code, given calibration input ``x``.

        ``None``: the ``coding`` chosen in :func:`gsnn.convert` is used.
        """
        return None

    def calibrate_network(
        self,
        snn: nn.Module,
        ann: nn.Module,
        batches: List[Tuple],
        rows: Optional[Tensor],
    ) -> None:
        """Adjust the built spiking network ``snn`` against the ANN, in place.

        Called by :func:`gsnn.convert` only when :attr:`calibrates_network` is set.

        Args:
            snn (SpikingNetwork): the converted network, neurons built for its ``T``.
            ann (fx.GraphModule): the traced, normalised ANN (eval mode);
                ``snn.neuron_sites`` maps each neuron to the ANN node it replaced.
            batches (list of tuple): calibration inputs, each a tuple of model inputs.
            rows (Tensor, optional): rows (nodes) of each batch that may be used.
        """

    def latency(self, depth: int, T: int) -> int:
        """End-to-end steps until the output is complete, for ``depth`` spiking layers.

        Online methods read out after ``T`` steps; windowed schedules override this.
        """
        return T

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
