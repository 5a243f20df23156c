"""The converted network: encoder, spiking body, readout, statistics."""

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, fx, nn

from gsnn.coding.validation import check_time_steps
from gsnn.methods.method import ConversionMethod
from gsnn.metrics import EnergyModel, SpikeStats, StatsRecorder
from gsnn.neurons import IFNeuron
from gsnn.nn.spiking_max_pool2d import SpikingMaxPool2d
from gsnn.nn.synaptic_layer import SynapticLayer

OutputOp = Tuple[str, object, tuple, dict]  # (fx op, target, extra args, kwargs)


class SpikingNetwork(nn.Module):
    r"""A converted spiking network, called exactly like the ANN it came from.

    ``snn(x, edge_index)`` encodes ``x`` into :math:`T` steps, runs the
    spiking body layer by layer over all steps at once, decodes the output
    currents with the readout and returns logits of the ANN's output shape.

    After every call:

    - :attr:`last_step_logits` holds the decoded logits after each step,
      :math:`(T, *)`, from the same pass (accuracy-versus-time for free);
    - :attr:`last_stats` holds the :class:`~gsnn.metrics.SpikeStats` of the run.

    Args:
        body (fx.GraphModule): spiking layers and neurons, ``[T, ...]`` tensors.
        coder (nn.Module): input coder, ``coder(x, T)``.
        method (ConversionMethod): the recipe that built the neurons.
        thresholds (dict): threshold per neuron site, to rebuild neurons when
            :attr:`T` changes.
        T (int): time steps per inference.
        output_ops (list): ops applied to decoded logits (e.g. ``log_softmax``).
        sample_shape (tuple): shape of one row of the first input (a node's
            features, an image), checked on every call.
        depths (dict): for every module call (and ``"output"``), the number of
            neurons on the longest path from the input up to it.
        gain_sources (dict): synaptic layers fed by neurons (``"spikes"``) or by
            the input (``"input"``), whose step gains the method sets per ``T``.
    """

    def __init__(
        self,
        body: fx.GraphModule,
        coder: nn.Module,
        method: ConversionMethod,
        thresholds: Dict[str, Tensor],
        T: int,
        output_ops: Sequence[OutputOp] = (),
        sample_shape: Optional[Tuple[int, ...]] = None,
        depths: Optional[Dict[str, int]] = None,
        gain_sources: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__()
        self.body = body
        self.coder = coder
        self.method = method
        self.thresholds = dict(thresholds)
        self.output_ops = list(output_ops)
        self.sample_shape = tuple(sample_shape) if sample_shape is not None else None
        self.depths = dict(depths or {})
        self.depth = self.depths.get("output", 0)
        self.gain_sources = dict(gain_sources or {})
        self.energy_model = EnergyModel()
        self.record_stats = True
        self.last_step_logits: Optional[Tensor] = None
        self.last_stats: Optional[SpikeStats] = None
        self.T = T

    @property
    def T(self) -> int:
        """Time steps per inference; setting it rebuilds the neurons for the new ``T``."""
        return self._T

    @T.setter
    def T(self, value: int) -> None:
        check_time_steps(value)
        self._T = value
        for name, threshold in self.thresholds.items():
            depth = self.depths.get(name, 1)
            setattr(self.body, name, self.method.make_neuron(threshold, value, depth))
        self.steps = self.method.simulation_steps(self.depth, value)
        for name, module in self.body.named_modules():
            if isinstance(module, SynapticLayer) and name in self.depths:  # called layers
                source = self.gain_sources.get(name)
                module.step_gains = self.method.step_gains(source, self.steps)
                depth = self.depths.get(name, 0)
                module.bias_gains = self.method.bias_gains(depth, self.steps)
        self.readout = self.method.make_readout(self.depth, value)

    @property
    def latency_steps(self) -> int:
        """Steps from the first input to a complete output under the method's schedule."""
        return self.method.latency(self.depth, self.T)

    def neurons(self) -> List[Tuple[str, nn.Module]]:
        """``(name, neuron)`` pairs of the spiking body, in definition order."""
        return [(name, getattr(self.body, name)) for name in self.thresholds]

    def _check_inputs(self, inputs: Sequence) -> None:
        x = inputs[0] if inputs else None
        if not isinstance(x, Tensor) or not torch.is_floating_point(x):
            raise ValueError(
                "The first input must be a floating-point feature tensor, "
                f"got {type(x).__name__ if not isinstance(x, Tensor) else x.dtype}."
            )
        # one reduction first: a finite sum proves every entry finite
        if not torch.isfinite(x.sum()) and not torch.isfinite(x).all():
            raise ValueError(
                "The input features contain NaN or infinite values; clean or impute them first."
            )
        if self.sample_shape is not None and tuple(x.shape[1:]) != self.sample_shape:
            if len(self.sample_shape) == 1:
                raise ValueError(
                    f"The network was converted for inputs with {self.sample_shape[0]} features "
                    f"per row, got a tensor of shape {tuple(x.shape)}."
                )
            raise ValueError(
                f"The network was converted for inputs of shape [batch, "
                f"{', '.join(map(str, self.sample_shape))}], got {tuple(x.shape)}."
            )

    def _apply_output_ops(self, logits: Tensor) -> Tensor:
        for op, target, args, kwargs in self.output_ops:
            if op == "call_function":
                logits = target(logits, *args, **kwargs)
            else:
                logits = getattr(logits, target)(*args, **kwargs)
        return logits

    def forward(self, *inputs) -> Tensor:
        self._check_inputs(inputs)
        encoded = self.coder(inputs[0], self.steps)
        if self.record_stats:
            with StatsRecorder(self.body, self.energy_model) as recorder:
                currents = self.body(encoded, *inputs[1:])
            recorder.stats.time_steps = self.T
            self.last_stats = recorder.stats
        else:
            currents = self.body(encoded, *inputs[1:])
        return self._decode(currents)

    def forward_stepwise(self, *inputs) -> Tensor:
        """Simulate one step at a time through the same ops (streaming mode).

        Gives the same result as :meth:`forward`; it exists as the reference
        that the layer-major, time-stacked simulation is checked and
        benchmarked against. Statistics are not recorded.
        """
        self._check_inputs(inputs)
        encoded = self.coder(inputs[0], self.steps)
        neurons = [module for _, module in self.neurons()]
        if any(isinstance(module, SpikingMaxPool2d) for module in self.body.modules()):
            raise ValueError(
                "forward_stepwise cannot stream max pooling by running counts; use forward()."
            )
        if not all(isinstance(neuron, IFNeuron) for neuron in neurons):
            raise ValueError(
                f"forward_stepwise streams online neurons only; method {self.method.name!r} "
                "uses windowed neurons, which need a whole window of input at once."
            )
        for neuron in neurons:
            neuron.keep_state = True
            neuron.reset()
        try:
            currents = torch.cat(
                [self.body(encoded[t : t + 1], *inputs[1:]) for t in range(self.steps)], dim=0
            )
        finally:
            for neuron in neurons:
                neuron.keep_state = False
                neuron.reset()
        return self._decode(currents)

    def _decode(self, currents: Tensor) -> Tensor:
        step_logits = self.readout(currents)
        self.last_step_logits = step_logits
        return self._apply_output_ops(step_logits[-1])

    def extra_repr(self) -> str:
        return f"T={self.T}, method={self.method!r}, latency_steps={self.latency_steps}"
