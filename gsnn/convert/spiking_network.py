"""The converted network: encoder, spiking body, readout, statistics."""

import math
import threading
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, fx, nn

from gsnn.coding.validation import check_time_steps
from gsnn.convert.input_binding import InputBinding
from gsnn.convert.memory_plan import MemoryEstimate
from gsnn.convert.output_ops import OutputOp
from gsnn.methods.method import ConversionMethod
from gsnn.metrics import EnergyModel, SpikeStats, StatsRecorder
from gsnn.nn.graph_adjacency import node_blocks
from gsnn.nn.running_max_aggregation import RunningMaxAggregation
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.synaptic_layer import SynapticLayer
from gsnn.nn.time_constant import shares_storage
from gsnn.nn.unchanged_inputs import UnchangedInputs


class SpikingNetwork(nn.Module):
    r"""A converted spiking network, called exactly like the ANN it came from.

    ``snn(x, edge_index)`` encodes ``x`` into :math:`T` steps, runs the
    spiking body layer by layer over all steps at once, decodes the output
    currents with the readout and returns logits of the ANN's output shape.

    After every call:

    - :attr:`last_step_logits` holds the decoded logits after each step,
      :math:`(T, *)`, from the same pass (accuracy-versus-time for free);
    - :attr:`last_stats` holds the :class:`~gsnn.metrics.SpikeStats` of the run.

    Memory grows with :math:`T` times the largest layer (design §5). Online
    methods (rate, optimal, qcfs, burst, dual-phase, signed two-phase) can run in
    chunks of steps instead: set :attr:`steps_per_chunk`, or let
    :meth:`plan_chunks` choose it for a memory budget. Neurons (and max pooling)
    carry their state from chunk to chunk, so outputs and statistics equal a
    single pass; the input code is generated chunk by chunk too
    (:meth:`~gsnn.coding.Coder.chunks`). On large graphs, :attr:`nodes_per_block`
    also aggregates along the edges in row blocks of the adjacency, which drops
    the two :math:`(N, T \cdot F)` temporaries of every propagation (any method).

    One network may be called from several threads. The state of a run lives
    on its modules (membranes, statistics hooks, a cached adjacency), so calls
    are serialised by a lock (``experiments/results/benchmark_reentrancy.md``
    measures what the lock costs a single thread), and :attr:`last_stats` and
    :attr:`last_step_logits` are kept per thread: each thread reads those of
    its own last call.

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
        neuron_sites (dict): neuron module name to the name of the ANN activation
            node it replaced (:attr:`neuron_sites`).
        input_binding (InputBinding, optional): turns a call with the ANN's forward
            signature into the body's inputs; ``None`` passes the call's positional
            inputs on as they are.
    """

    # networks saved before nodes_per_block existed load with its default
    _nodes_per_block: Optional[int] = None
    # not saved by gsnn.save, pickled or deep-copied: made again by _init_transient
    transient_attributes: ClassVar[Tuple[str, ...]] = ("_lock", "_last_call", "_checked_input")

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
        neuron_sites: Optional[Dict[str, str]] = None,
        input_binding: Optional[InputBinding] = None,
    ) -> None:
        super().__init__()
        self._init_transient()
        self.body = body
        self.coder = coder
        self.method = method
        self.thresholds = dict(thresholds)
        self.output_ops = list(output_ops)
        self.sample_shape = tuple(sample_shape) if sample_shape is not None else None
        self.depths = dict(depths or {})
        self.depth = self.depths.get("output", 0)
        self.gain_sources = dict(gain_sources or {})
        self.neuron_sites = dict(neuron_sites or {})
        self.input_binding = input_binding
        self.energy_model = EnergyModel()
        self.record_stats = True
        self.steps_per_chunk = None
        self.T = T

    def _init_transient(self) -> None:
        self._lock = threading.RLock()
        self._last_call = threading.local()
        self._checked_input = UnchangedInputs()

    def __getstate__(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in self.transient_attributes}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._init_transient()

    def get_extra_state(self) -> dict:
        """The thresholds, so that :meth:`state_dict` carries them: setting :attr:`T`
        after :meth:`load_state_dict` rebuilds the neurons from the loaded thresholds."""
        return {"thresholds": dict(self.thresholds)}

    def set_extra_state(self, state: dict) -> None:
        thresholds = state["thresholds"]
        if set(thresholds) != set(self.thresholds):
            raise ValueError(
                f"The state dict has thresholds for the neurons {sorted(thresholds)}, this "
                f"network has {sorted(self.thresholds)}; load the state of a network "
                "converted from the same model."
            )
        self.thresholds = {name: thresholds[name].detach().clone() for name in self.thresholds}

    @property
    def last_stats(self) -> Optional[SpikeStats]:
        """The :class:`~gsnn.metrics.SpikeStats` of this thread's last call (``None`` before)."""
        return getattr(self._last_call, "stats", None)

    @last_stats.setter
    def last_stats(self, value: Optional[SpikeStats]) -> None:
        self._last_call.stats = value

    @property
    def last_step_logits(self) -> Optional[Tensor]:
        """The decoded logits after each step of this thread's last call, :math:`(T, *)`."""
        return getattr(self._last_call, "step_logits", None)

    @last_step_logits.setter
    def last_step_logits(self, value: Optional[Tensor]) -> None:
        self._last_call.step_logits = value

    @property
    def T(self) -> int:
        """Time steps per inference; setting it rebuilds the neurons for the new ``T``."""
        return self._T

    @T.setter
    def T(self, value: int) -> None:
        check_time_steps(value)
        with self._lock:
            self._set_T(value)

    def _set_T(self, value: int) -> None:
        self._T = value
        for name, threshold in self.thresholds.items():
            depth = self.depths.get(name, 1)
            try:
                neuron = self.method.make_neuron(threshold, value, depth)
            except ValueError as error:
                site = self.neuron_sites.get(name, name)
                raise ValueError(
                    f"Cannot build the neurons of activation site '{site}' ({name}) with the "
                    f"threshold {threshold.tolist()} that method {self.method.name!r} chose: "
                    f"{error} Check the site's calibration statistics (site_errors) or the "
                    "ANN's activation there."
                ) from error
            setattr(self.body, name, neuron)
        self.steps = self.method.simulation_steps(self.depth, value)
        for name, module in self.body.named_modules():
            if isinstance(module, SynapticLayer) and name in self.depths:  # called layers
                source = self.gain_sources.get(name)
                module.step_gains = self.method.step_gains(source, self.steps)
                depth = self.depths.get(name, 0)
                module.bias_gains = self.method.bias_gains(depth, self.steps)
        self.readout = self.method.make_readout(self.depth, value)

    @property
    def steps_per_chunk(self) -> Optional[int]:
        """Steps simulated per pass through the body (``None``: all at once)."""
        return self._steps_per_chunk

    @steps_per_chunk.setter
    def steps_per_chunk(self, value: Optional[int]) -> None:
        if _check_optional_count("steps_per_chunk", value) is not None:
            self._streamable_modules()  # refuses windowed methods now, not at the next call
        with self._lock:
            self._steps_per_chunk = value

    @property
    def nodes_per_block(self) -> Optional[int]:
        """Target nodes aggregated per block of adjacency rows, one step at a time
        (``None``: all nodes and steps in one sparse matmul, the default).

        Used by :meth:`forward`, :meth:`forward_stepwise` and
        :class:`~gsnn.distributed.DistributedSpikingNetwork` (blocks of a rank's rows);
        :meth:`plan_chunks` chooses it with :attr:`steps_per_chunk` for a budget.
        Outputs equal the unblocked run bit for bit. Setting it refuses networks with an
        aggregation that does not go through the adjacency (``aggr='max'``), which would
        run unblocked.
        """
        return self._nodes_per_block

    @nodes_per_block.setter
    def nodes_per_block(self, value: Optional[int]) -> None:
        if _check_optional_count("nodes_per_block", value) is not None:
            unblocked = [
                name
                for name, module in self.body.named_modules()
                if isinstance(module, RunningMaxAggregation)
            ]
            if unblocked:
                raise ValueError(
                    f"The max aggregation(s) {unblocked} do not aggregate through the "
                    "adjacency and cannot run in node blocks; set nodes_per_block = None "
                    "(steps_per_chunk still bounds their memory)."
                )
        with self._lock:
            self._nodes_per_block = value

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
        # checked once while the same tensor comes back unchanged (UnchangedInputs);
        # one reduction first: a finite sum proves every entry finite
        if not self._checked_input.same(x):
            if not torch.isfinite(x.sum()) and not torch.isfinite(x).all():
                raise ValueError(
                    "The input features contain NaN or infinite values; clean or impute them first."
                )
            self._checked_input.remember(x)
        dtype = next((p.dtype for p in self.body.parameters() if p.is_floating_point()), x.dtype)
        if x.dtype != dtype:
            raise ValueError(
                f"The network computes in {dtype} but the input is {x.dtype}; pass x.to({dtype}) "
                "(or convert a model of the input's precision)."
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

    def body_inputs(self, *args, **kwargs) -> Tuple:
        """The spiking body's inputs for a call with the ANN's forward signature."""
        if self.input_binding is None:
            if kwargs:
                raise ValueError(
                    f"This network takes positional inputs only, not {sorted(kwargs)}."
                )
            return args
        return self.input_binding(*args, **kwargs)

    def forward(self, *args, **kwargs) -> Tensor:
        with self._lock:
            inputs = self.body_inputs(*args, **kwargs)
            self._check_inputs(inputs)
            chunk = self.steps_per_chunk or self.steps
            with node_blocks(self.nodes_per_block):
                currents = self._run(inputs, chunk)
            return self._decode(currents)

    def _run(self, inputs: Sequence, chunk: int) -> Tensor:
        """:meth:`_simulate` with statistics when :attr:`record_stats` is set."""
        if self.record_stats:
            with StatsRecorder(self.body, self.energy_model) as recorder:
                currents = self._simulate(inputs, chunk, recorder)
            recorder.stats.time_steps = self.T
            self.last_stats = recorder.stats
            return currents
        return self._simulate(inputs, chunk)

    def forward_stepwise(self, *args, **kwargs) -> Tensor:
        """Simulate one step at a time through the same ops (streaming mode).

        Gives the same result as :meth:`forward` for online methods (those that
        run in chunks of steps, see :attr:`steps_per_chunk`); it exists as the
        reference that the layer-major, time-stacked simulation is checked and
        benchmarked against. Statistics are not recorded. With :attr:`nodes_per_block`
        set, each step's propagations run in row blocks too, bit for bit the same.

        Raises:
            ValueError: the method is windowed (its neurons or per-step weights
                need the whole run at once), so it has no step-by-step form.
        """
        with self._lock:
            inputs = self.body_inputs(*args, **kwargs)
            self._check_inputs(inputs)
            self._streamable_modules("run one step at a time", "use forward()")
            with node_blocks(self.nodes_per_block):
                currents = self._simulate(inputs, 1)
            return self._decode(currents)

    def _simulate(
        self,
        inputs: Sequence,
        chunk: int,
        recorder: Optional[StatsRecorder] = None,
        body: Optional[Callable[..., Tensor]] = None,
    ) -> Tensor:
        """Encode ``inputs[0]`` and run the body over its :math:`T` steps in chunks of
        ``chunk`` steps; the coder and the stateful modules carry their state from one
        chunk to the next. ``body`` runs in place of :attr:`body` (a rank of
        :class:`~gsnn.distributed.DistributedSpikingNetwork` runs it on its rows)."""
        x, rest = inputs[0], inputs[1:]
        body = body or self.body
        if chunk >= self.steps:
            return body(self.coder(x, self.steps), *rest)
        stateful = self._streamable_modules()
        for module in stateful:
            module.keep_state = True
            module.reset()
        try:
            currents, start = [], 0
            for block in self.coder.chunks(x, self.steps, chunk):
                if recorder is not None:
                    recorder.first_step = start
                currents.append(body(block, *rest))
                start += block.shape[0]
        finally:
            for module in stateful:
                module.keep_state = False
                module.reset()
        return torch.cat(currents, dim=0)

    def _streamable_modules(
        self, purpose: str = "run in chunks of steps", fix: str = "set steps_per_chunk = None"
    ) -> List[nn.Module]:
        """The modules that carry state across steps, if the network can run in chunks."""
        neurons = [module for _, module in self.neurons()]
        if not all(neuron.streams_state for neuron in neurons) or any(
            module.step_gains is not None or module.bias_gains is not None
            for module in self.body.modules()
            if isinstance(module, SynapticLayer)
        ):
            raise ValueError(
                f"Only online methods {purpose}; method {self.method.name!r} uses "
                f"windowed neurons or per-step weights, which need the whole run at once: {fix}."
            )
        ops = [m for m in self.body.modules() if isinstance(m, StructuralOp) and m.stateful]
        return neurons + ops

    def bytes_per_step(self, *args, **kwargs) -> int:
        """An estimate of the memory one simulated step needs: the bytes of every
        intermediate result of the body for one step of ``inputs``.

        It is an upper bound on what the body keeps alive between its ops (each
        result is freed after its last use); temporaries inside a layer add to it.
        The input code of a step counts too, unless it is a view of the input
        (analog coding). :meth:`memory_estimate` measures what a call allocates instead,
        temporaries included.
        """
        with self._lock:
            inputs = self.body_inputs(*args, **kwargs)
            self._check_inputs(inputs)
            measuring = _OutputBytes(self.body)
            stateful = self._streamable_modules()
            with torch.no_grad():
                code = self.coder(inputs[0], 1)
                try:
                    measuring.run(code, *inputs[1:])
                finally:
                    for module in stateful:
                        module.reset()
            if not shares_storage(code, inputs[0]):
                measuring.total += code.numel() * code.element_size()
            return measuring.total

    def memory_estimate(self, *args, **kwargs) -> MemoryEstimate:
        """Measure what a call on ``inputs`` needs, for any :attr:`steps_per_chunk` and
        :attr:`nodes_per_block` (:class:`~gsnn.convert.memory_plan.MemoryEstimate`).

        ``inputs`` is a representative batch (e.g. the whole graph). Its
        :meth:`~gsnn.convert.memory_plan.MemoryEstimate.peak_bytes`,
        :meth:`~gsnn.convert.memory_plan.MemoryEstimate.layer_bytes` and
        :meth:`~gsnn.convert.memory_plan.MemoryEstimate.plan` run the body for a chunk of
        one, two or three steps where a question needs a size not probed yet (about five
        steps for a call that fits in one pass, up to thirteen with node blocks).

        Raises:
            ValueError: the method cannot run in chunks (windowed neurons or weights).
        """
        with self._lock:
            inputs = self.body_inputs(*args, **kwargs)
            self._check_inputs(inputs)
            return MemoryEstimate(self, inputs)

    def plan_chunks(self, memory_bytes: int, *args, headroom: float = 1.5, **kwargs) -> int:
        """Set :attr:`steps_per_chunk` and :attr:`nodes_per_block` so a call on ``inputs``
        fits in ``memory_bytes``; return the steps per pass.

        The plan (:meth:`~gsnn.convert.memory_plan.MemoryEstimate.plan` of
        :meth:`memory_estimate`) takes the fewest chunks of steps, as even as possible,
        whose estimated peak times ``headroom`` fits (one pass, :attr:`steps_per_chunk`
        ``None``, when everything fits), with node blocks, as large as fit, where all
        nodes at once do not fit at that number of chunks. ``memory_bytes`` bounds what
        the call allocates beyond what exists before it (inputs, weights, cached
        adjacencies, the previous call's states and step logits). The estimate is measured
        per op of the body; ``headroom`` covers what it does not see, memory that kernels
        free before they return and allocator overhead:
        ``experiments/results/benchmark_memory_plan.md`` compares it with the peak
        resident memory of real calls. For the plan itself and the per-op estimate, use
        ``snn.memory_estimate(*inputs).plan(memory_bytes)``.

        Raises:
            ValueError: the method cannot run in chunks, ``memory_bytes`` or ``headroom``
                is not valid, or no plan fits (the message names the smallest budget
                that would).
        """
        if isinstance(memory_bytes, bool) or not isinstance(memory_bytes, (int, float)):
            raise ValueError(f"memory_bytes must be a number of bytes, got {memory_bytes!r}.")
        if not math.isfinite(memory_bytes) or memory_bytes <= 0:
            raise ValueError(f"memory_bytes must be positive and finite, got {memory_bytes!r}.")
        if not headroom >= 1:
            raise ValueError(f"headroom must be >= 1, got {headroom!r}.")
        plan = self.memory_estimate(*args, **kwargs).plan(memory_bytes, headroom)
        self.steps_per_chunk = plan.steps_per_chunk
        self.nodes_per_block = plan.nodes_per_block
        return plan.steps_per_chunk or self.steps

    def _decode(self, currents: Tensor) -> Tensor:
        step_logits = self.readout(currents)
        self.last_step_logits = step_logits
        return self._apply_output_ops(step_logits[-1])

    def extra_repr(self) -> str:
        return f"T={self.T}, method={self.method!r}, latency_steps={self.latency_steps}"


def _check_optional_count(name: str, value) -> Optional[int]:
    """Return ``value`` if it is ``None`` or an int >= 1; otherwise raise ``ValueError``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be a positive int or None, got {value!r}.")
    if value is not None and value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return value


class _OutputBytes(fx.Interpreter):
    """Runs a graph module and sums the bytes of every op's tensor result in :attr:`total`."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module)
        self.total = 0

    def run_node(self, node: fx.Node):
        result = super().run_node(node)
        if isinstance(result, Tensor) and node.op.startswith("call_"):
            self.total += result.numel() * result.element_size()
        return result
