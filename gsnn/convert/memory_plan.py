"""Measured memory of a spiking network's call, and the chunk and block sizes a budget allows."""

import difflib
import math
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, fx
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from gsnn.coding.coder import chunk_lengths
from gsnn.metrics import StatsRecorder
from gsnn.nn.graph_adjacency import node_blocks
from gsnn.nn.running_max_aggregation import RunningMaxAggregation
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer

if TYPE_CHECKING:
    from gsnn.convert.spiking_network import SpikingNetwork

# node blocks of the smaller block probe: 1 / BLOCK_PROBE_FRACTION of the nodes
BLOCK_PROBE_FRACTION = 64
# a line bytes(steps) = first + per_step * (steps - 2), through the probes of 2 and 3 steps
Line = Tuple[int, int]
# the live bytes after one allocation, and the op that made it
Event = Tuple[int, str]


class LiveBytes(TorchDispatchMode):
    """Counts the bytes of the tensors that ops allocate while it is active, while they live.

    A storage counts from the op that allocates it until the last tensor viewing it dies;
    views and in-place results of memory that existed before add nothing. :attr:`events`
    holds the live bytes right after every allocation with the op that made it, so their
    maximum is the peak. Memory a kernel allocates and frees before it returns is not
    seen, nor is allocator overhead.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.events: List[Event] = []
        self.owner = ""  # a name for what allocates now (set by the caller)
        self._storages: Dict[int, list] = {}  # data_ptr -> [bytes, live tensors, owner]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        given = {
            part.untyped_storage().data_ptr()
            for t in pytree.tree_leaves((args, kwargs))
            if isinstance(t, Tensor)
            for part in _parts(t)
        }
        for tensor in pytree.tree_leaves(out):
            if isinstance(tensor, Tensor) and tensor.layout == torch.strided:
                self._track(tensor, given, str(func))
        return out

    def _track(self, tensor: Tensor, given: set, op: str) -> None:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        entry = self._storages.get(key)
        if entry is None:
            if key in given or key == 0:
                return  # a view or in-place result of memory allocated before
            entry = self._storages[key] = [storage.nbytes(), 0, self.owner]
            self.live += entry[0]
            self.events.append((self.live, op))
        entry[1] += 1
        weakref.finalize(tensor, self._release, key)

    def live_by_owner(self) -> Dict[str, int]:
        """The live bytes per :attr:`owner` that allocated them."""
        owners: Dict[str, int] = {}
        for size, _, owner in self._storages.values():
            owners[owner] = owners.get(owner, 0) + size
        return owners

    def _release(self, key: int) -> None:
        entry = self._storages[key]
        entry[1] -= 1
        if entry[1] == 0:
            del self._storages[key]
            self.live -= entry[0]


def _parts(tensor: Tensor) -> Tuple[Tensor, ...]:
    """The strided tensors holding ``tensor``'s memory (a sparse tensor's index and values)."""
    if tensor.layout == torch.strided:
        return (tensor,)
    if tensor.layout == torch.sparse_coo:
        return (tensor._indices(), tensor._values())
    if tensor.layout == torch.sparse_csr:
        return (tensor.crow_indices(), tensor.col_indices(), tensor.values())
    return ()


class _OpEvents(fx.Interpreter):
    """Runs the body under a :class:`LiveBytes` and keeps, per op, the live bytes when it
    starts followed by the events of its allocations."""

    def __init__(self, body: fx.GraphModule, live: LiveBytes) -> None:
        super().__init__(body)
        self.live = live
        self.ops: Dict[str, List[Event]] = {}

    def run_node(self, node: fx.Node):
        if not node.op.startswith("call_"):
            return super().run_node(node)
        start, first = self.live.live, len(self.live.events)
        self.live.owner = node.name
        result = super().run_node(node)
        self.ops[node.name] = [(start, "start"), *self.live.events[first:]]
        return result


@dataclass(frozen=True)
class _Probe:
    """One measured chunk of the body."""

    ops: Dict[str, List[Event]]  # per op, as _OpEvents keeps them
    output_bytes: int  # the storage the chunk's output keeps alive
    output: Tensor  # a meta tensor of the output's shape and dtype
    # per op, what it keeps for the next chunk (membranes, statistics)
    state: Dict[str, int]

    def peaks(self) -> Dict[str, int]:
        return {name: max(level for level, _ in events) for name, events in self.ops.items()}

    def state_from(self) -> Dict[str, int]:
        """Per op, the state kept by it and the ops after it: in a chunk after the first,
        what the previous chunk left and the op has not replaced yet."""
        out, after = {}, 0
        for name in reversed(list(self.ops)):
            after += self.state.get(name, 0)
            out[name] = after
        return dict(reversed(out.items()))


def _lines(two: List[Event], three: List[Event]) -> List[Line]:
    """Lines over the steps of a chunk through an op's probes of two and three steps: one per
    allocation made by the same op at the same place in both (aligned by op name, so that a
    loop over steps matches its first iterations), and one through the op's peaks."""
    matcher = difflib.SequenceMatcher(None, [e[1] for e in two], [e[1] for e in three], False)
    lines = [
        (two[i + k][0], three[j + k][0] - two[i + k][0])
        for i, j, size in matcher.get_matching_blocks()
        for k in range(size)
    ]
    peak_two, peak_three = max(e[0] for e in two), max(e[0] for e in three)
    return lines + [(peak_two, peak_three - peak_two)]


def _at(lines: List[Line], steps: int) -> int:
    return max(first + per_step * (steps - 2) for first, per_step in lines)


@dataclass(frozen=True)
class MemoryPlan:
    """Chunk and block sizes for a memory budget, with the estimate they rest on.

    Attributes:
        steps_per_chunk (int, optional): steps per pass (``None``: all in one pass).
        nodes_per_block (int, optional): nodes per block of adjacency rows (``None``: all).
        estimated_bytes (int): the estimated peak of what the call allocates under this
            plan, without the headroom.
        budget_bytes (int): the budget; ``headroom * estimated_bytes <= budget_bytes``.
        headroom (float): the factor applied to the estimate.
        layers (dict): per body op, in the order they run, its estimated peak under this
            plan (what the body holds while it runs: its temporaries and output, and what
            earlier ops left alive).
    """

    steps_per_chunk: Optional[int]
    nodes_per_block: Optional[int]
    estimated_bytes: int
    budget_bytes: int
    headroom: float
    layers: Dict[str, int]


class MemoryEstimate:
    r"""The memory one call of a network allocates, measured on its inputs, for any
    :attr:`~SpikingNetwork.steps_per_chunk` and :attr:`~SpikingNetwork.nodes_per_block`.

    **Measured** with :class:`LiveBytes` (every tensor an op allocates, from birth to
    death), each probe once, when a question first needs it: the body over chunks of one,
    two and three steps, unblocked; over two and three steps in node blocks of
    :math:`r_0 = \lceil N / 64 \rceil` rows and two steps in blocks of :math:`N - 1`
    rows (one step in both, for one-step chunks in blocks); the readout on all steps.
    **Estimated** from those: a chunk of :math:`c \geq 2` steps allocation by allocation,
    on the line through the probes of two and three steps (exact while an op allocates
    the same tensors for every :math:`c`; a loop over steps is matched by its first
    iterations); blocks of :math:`r` rows by the chord between the two block sizes, an
    upper bound (the peak is convex and non-decreasing in :math:`r`; fewer rows than
    :math:`r_0` count as :math:`r_0`). Allocations that depend on spike values (the
    silent-row skip) are taken as in the probed steps. **Not seen**: memory a kernel
    frees before it returns and allocator overhead, for a headroom to cover
    (``experiments/results/benchmark_memory_plan.md`` compares the estimate with the
    peak resident memory of real calls), and whatever exists before the call (inputs,
    weights, cached adjacencies, and :attr:`held_bytes`).

    A call's peak is the largest of: each chunk's body, with the outputs of the chunks
    before it and, from the second chunk on, the state the previous chunk left in the ops
    not run yet (the probes attribute every tensor still alive to the op that allocated
    it); the chunks' outputs while they are concatenated; and the readout on all steps.

    Probes keep the network's lock; the estimate keeps references to the network and the
    inputs. The first probe runs again when it built a cached adjacency, so that building
    it once is not taken as every call's need.

    Args:
        network (SpikingNetwork): an online network (one that runs in chunks).
        inputs (sequence): the body's inputs, a representative batch (the whole graph).

    Attributes:
        steps (int): steps a call simulates.
        nodes (int): rows of the first input (nodes of the graph).
    """

    def __init__(self, network: "SpikingNetwork", inputs: Sequence) -> None:
        network._streamable_modules()  # refuses windowed methods
        self.network, self.inputs = network, tuple(inputs)
        self.steps = network.steps
        self.nodes = inputs[0].shape[0]
        self.block_rows = (math.ceil(self.nodes / BLOCK_PROBE_FRACTION), self.nodes - 1)
        self.can_block = self.block_rows[0] < self.block_rows[1] and not any(
            isinstance(m, RunningMaxAggregation) for m in network.body.modules()
        )
        self._probes: Dict[Tuple[int, Optional[int]], _Probe] = {}
        self._fitted: Dict[Optional[int], Dict[str, List[Line]]] = {}
        self._readout_bytes: Optional[Tuple[int, int]] = None  # (peak, step logits)

    @property
    def held_bytes(self) -> int:
        """What a call leaves alive until the next one replaces it (neuron states,
        statistics, step logits): resident between calls, not counted in the estimate."""
        return sum(self._any_probe().state.values()) + self._readout()[1]

    def layer_bytes(
        self, steps_per_chunk: Optional[int] = None, nodes_per_block: Optional[int] = None
    ) -> Dict[str, int]:
        """Per body op, in order, its estimated peak in a chunk of ``steps_per_chunk``
        steps (``None``: all) in node blocks of ``nodes_per_block`` rows (``None``: all):
        the bytes the body holds while the op runs (its temporaries and output, and what
        earlier ops left alive)."""
        steps = min(steps_per_chunk or self.steps, self.steps)
        blocked = self.can_block and nodes_per_block is not None and nodes_per_block < self.nodes
        low, high = self.block_rows
        rows = low if not blocked else max(nodes_per_block, low)
        start = (min(steps, 2), low if blocked else None)
        if steps == 1:
            out = self._probe(1, start[1]).peaks()
        else:
            out = {name: _at(lines, steps) for name, lines in self._lines(start[1]).items()}
        if blocked:  # the chord between the block sizes, the same at every step count
            at_low, at_high = (
                self._probe(start[0], low).peaks(),
                self._probe(start[0], high).peaks(),
            )
            for name in out:
                growth = (at_high[name] - at_low[name]) * (rows - low) / (high - low)
                out[name] += math.ceil(growth)
        return out

    def peak_bytes(
        self, steps_per_chunk: Optional[int] = None, nodes_per_block: Optional[int] = None
    ) -> int:
        """The estimated peak of what a call with these settings allocates (``None``:
        one pass, all nodes at once)."""
        chunk = min(steps_per_chunk or self.steps, self.steps)
        total = self.steps * self._readout()[0]  # the concatenated outputs
        phases, before, first = [total + self._readout()[2]], 0, True
        state = self._any_probe().state_from()
        for steps in chunk_lengths(self.steps, chunk):
            body = self.layer_bytes(steps, nodes_per_block)
            if not first:  # the state the previous chunk left, until an op replaces it
                body = {name: size + state[name] for name, size in body.items()}
            phases.append(before + max(body.values(), default=0))
            before += self._output_bytes(steps)
            first = False
        if chunk < self.steps:  # the chunks' outputs and their concatenation
            phases.append(before + sum(self._any_probe().state.values()) + total)
        return max(phases)

    def plan(self, memory_bytes: int, headroom: float = 1.5) -> MemoryPlan:
        """The fewest chunks of steps (as even as possible) whose estimated peak times
        ``headroom`` fits ``memory_bytes``; at each number of chunks, node blocks (as large
        as fit) where all nodes at once do not fit. Blocks are not tried for one-step
        chunks: one step propagates without the :math:`(N, c \\cdot F)` copies that blocks
        save, so they only add their own output buffer.

        Raises:
            ValueError: no plan fits; the message names the smallest budget that would.
        """
        budget = int(memory_bytes)

        needs: Dict[Tuple[int, Optional[int]], int] = {}

        def fits(chunk: int, rows: Optional[int]) -> bool:
            needs[chunk, rows] = math.ceil(headroom * self.peak_bytes(chunk, rows))
            return needs[chunk, rows] <= budget

        for chunk in sorted({math.ceil(self.steps / k) for k in range(1, self.steps + 1)})[::-1]:
            if fits(chunk, None):
                return self._plan(chunk, None, budget, headroom)
            if chunk > 1 and self.can_block and fits(chunk, 1):
                low, high = 1, self.nodes - 1  # the largest block that fits, by bisection
                while low < high:
                    middle = (low + high + 1) // 2
                    low, high = (middle, high) if fits(chunk, middle) else (low, middle - 1)
                return self._plan(chunk, low, budget, headroom)
        (chunk, rows), smallest = min(needs.items(), key=lambda item: item[1])
        setting = f"{chunk} step(s) per chunk" + (f" in blocks of {rows:,} nodes" if rows else "")
        raise ValueError(
            f"A memory budget of {budget:,} bytes is below the smallest estimated need of "
            f"this call, {smallest:,} bytes ({setting}, headroom {headroom:g} included): "
            "raise memory_bytes to at least that, or run fewer samples (nodes) at once."
        )

    def _plan(self, chunk: int, rows: Optional[int], budget: int, headroom: float) -> MemoryPlan:
        chunk = None if chunk >= self.steps else chunk
        return MemoryPlan(
            steps_per_chunk=chunk,
            nodes_per_block=rows,
            estimated_bytes=self.peak_bytes(chunk, rows),
            budget_bytes=budget,
            headroom=headroom,
            layers=self.layer_bytes(chunk, rows),
        )

    def _lines(self, rows: Optional[int]) -> Dict[str, List[Line]]:
        """Per op, the lines over steps through the probes of two and three steps."""
        if rows not in self._fitted:
            two, three = self._probe(2, rows), self._probe(3, rows)
            self._fitted[rows] = {name: _lines(two.ops[name], three.ops[name]) for name in two.ops}
        return self._fitted[rows]

    def _output_bytes(self, steps: int) -> int:
        """Storage that a chunk's output keeps alive until the chunks are concatenated."""
        if steps == 1:
            return self._probe(1, None).output_bytes
        two, three = self._probe(2, None).output_bytes, self._probe(3, None).output_bytes
        return two + (three - two) * (steps - 2)

    def _readout(self) -> Tuple[int, int, int]:
        """Bytes of one step of output, of the step logits, and the readout's peak on all
        steps (step logits and output ops included)."""
        step = self._any_probe().output[0]
        if self._readout_bytes is None:
            currents = torch.zeros(self.steps, *step.shape, dtype=step.dtype)
            with torch.no_grad(), LiveBytes() as live:
                step_logits = self.network.readout(currents)
                self.network._apply_output_ops(step_logits[-1])
            peak = max((level for level, _ in live.events), default=0)
            self._readout_bytes = (peak, step_logits.untyped_storage().nbytes())
        return (step.numel() * step.element_size(), self._readout_bytes[1], self._readout_bytes[0])

    def _any_probe(self) -> _Probe:
        """A probe made already (they agree on states and on the shape of a step's output)."""
        return next(iter(self._probes.values()), None) or self._probe(2, None)

    def _probe(self, steps: int, rows: Optional[int]) -> _Probe:
        steps = min(steps, self.steps)
        if (steps, rows) not in self._probes:
            caches = _adjacency_caches(self.network)
            probe = _probe(self.network, self.inputs, steps, rows)
            if _adjacency_caches(self.network) != caches:
                probe = _probe(self.network, self.inputs, steps, rows)
            self._probes[steps, rows] = probe
        return self._probes[steps, rows]


def _probe(network: "SpikingNetwork", inputs: Sequence, steps: int, rows: Optional[int]) -> _Probe:
    """Run the body once over its first ``steps`` steps, as a chunk of that size runs."""
    with network._lock:
        stateful = network._streamable_modules()
        for module in stateful:
            module.keep_state = True
            module.reset()
        try:
            with torch.no_grad(), node_blocks(rows), LiveBytes() as live:
                recorder = StatsRecorder(network.body, network.energy_model)
                with recorder if network.record_stats else nullcontext():
                    # the coder's state lives as long as its generator, as in a call
                    chunks = network.coder.chunks(inputs[0], network.steps, steps)
                    code = next(chunks)
                    events = _OpEvents(network.body, live)
                    out = events.run(code, *inputs[1:])
                output_bytes, shape, dtype = out.untyped_storage().nbytes(), out.shape, out.dtype
                del chunks, code, out
                events.env.clear()
                events.args_iter = iter(())  # it held the inputs
                state = live.live_by_owner()  # the neurons' states and the statistics
        finally:
            for module in stateful:
                module.keep_state = False
                module.reset()
    output = torch.empty(shape, dtype=dtype, device="meta")
    return _Probe(events.ops, output_bytes, output, state)


def _adjacency_caches(network: "SpikingNetwork") -> List[int]:
    """Identities of the graph layers' cached adjacencies (they change when one is built)."""
    return [
        id(m._cached_adjacency) for m in network.body.modules() if isinstance(m, SpikingGraphLayer)
    ]
