"""The synaptic-layer contract: what every layer that carries spikes to neurons provides."""

from abc import ABC, abstractmethod
from typing import Optional

from torch import Tensor, nn

from gsnn.nn.time_constant import is_time_constant, map_steps


class SynapticLayer(nn.Module, ABC):
    """Base class of layers that carry spikes (or analog input) to neurons.

    A synaptic layer states what it costs: :meth:`synaptic_fanout` (accumulates
    one unit input event causes, for synaptic-operation counts) and
    :meth:`dense_macs` (multiply-accumulates of the equivalent ANN layer for one
    step). Both take the layer's forward inputs.

    Attributes:
        receives_spikes (bool): the input holds spike counts (set by the
            converter); decides whether silent rows are skipped and whether the
            statistics count synaptic operations or MACs.
        step_gains (Tensor, optional): :math:`(T,)` weights of the steps of a
            weighted code (phase, single-spike), applied after the matmul so
            that each spike still costs accumulates only; ``None`` for rate codes.
        bias_gains (Tensor, optional): :math:`(T,)` weight of the bias at every
            step; weighted codes add it once (a one-hot vector at the step of the
            first input digit) or weighted like the spikes. ``None`` adds it
            unweighted at every step (rate codes).
        input_event_scale (float): spike events one unit of input stands for;
            above 1 when average pooling between the neurons and this layer is
            folded into it (a pooled unit is the mean of several spikes).
        input_averages_graph_nodes (bool): the input is a per-graph mean of spikes
            (``global_mean_pool`` folded into it), so one unit of graph :math:`g`
            stands for :math:`N_g` events; the statistics read :math:`N_g` from the
            readout and count one multiply per output value and step for the division.
    """

    def __init__(self) -> None:
        super().__init__()
        self.receives_spikes = True
        self.step_gains: Optional[Tensor] = None
        self.bias_gains: Optional[Tensor] = None
        self.input_event_scale = 1.0
        self.input_averages_graph_nodes = False

    @abstractmethod
    def synaptic_fanout(self, x: Tensor, *graph) -> Tensor:
        """Accumulates caused by one unit event at each input position, broadcastable
        over one step of ``x`` (e.g. :math:`(F_{in},)` or :math:`(N, 1)`)."""

    @abstractmethod
    def dense_macs(self, x: Tensor, *graph) -> int:
        """Multiply-accumulates of the equivalent ANN layer for one step of ``x``."""

    def finish_steps(self, out: Tensor, bias: Optional[Tensor], fresh: bool = False) -> Tensor:
        """Apply the step gains and the bias schedule to a bias-free output ``[T, ...]``.

        ``fresh``: ``out`` is a new tensor of the layer's own (or a time-constant view of
        one), so the bias is added in place, without a second ``[T, ...]`` tensor; so is the
        output of the step gains.
        """
        if self.step_gains is not None:
            if self.step_gains.numel() != out.shape[0]:
                raise ValueError(
                    f"{type(self).__name__} has {self.step_gains.numel()} step gains but the "
                    f"input has {out.shape[0]} steps; set the network's T instead of "
                    "slicing inputs."
                )
            gains = self.step_gains.to(out.dtype).view(-1, *([1] * (out.dim() - 1)))
            out, fresh = out * gains, True
        if bias is None:
            return out
        if self.bias_gains is None:
            if fresh:
                return map_steps(lambda block: block.add_(bias), out)
            return map_steps(lambda block: block + bias, out)
        gains = self.bias_gains.to(out.dtype).view(-1, *([1] * (out.dim() - 1)))
        if fresh and not is_time_constant(out):  # a time-constant view cannot take T biases
            return out.add_(gains * bias)
        return out + gains * bias


class WeightedLayer(SynapticLayer):
    """A synaptic layer built from a trained ANN op, whose weights absorb thresholds.

    On top of :class:`SynapticLayer` it provides :meth:`from_ann` (build from the
    ANN module, refusing configurations without a spiking equivalent),
    :meth:`scale_inputs_` (a neuron's threshold folded into the input weights)
    and :meth:`fold_output_affine_` (a following batch norm folded into the
    output). Register it for its ANN types with :func:`gsnn.nn.registry.converts`.
    """

    @classmethod
    @abstractmethod
    def from_ann(cls, module: nn.Module) -> "WeightedLayer":
        """Copy the trained ``module`` and its options.

        Raises:
            ValueError: an option has no spiking equivalent; the message names it and
                the fix.
        """

    @abstractmethod
    def scale_inputs_(self, gain: Tensor) -> None:
        """Multiply the weight of every input channel by ``gain`` (scalar or per channel)."""

    @abstractmethod
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        """Absorb a following per-channel affine map ``y * scale + shift`` (BN folding)."""
