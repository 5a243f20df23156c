"""Collects SpikeStats from a running network through forward hooks."""

from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from gsnn.metrics.energy import EnergyModel
from gsnn.metrics.spike_stats import LayerStats, SpikeStats
from gsnn.neurons import Neuron
from gsnn.nn.graph_readout import GraphReadout
from gsnn.nn.synaptic_layer import SynapticLayer
from gsnn.nn.time_constant import is_time_constant


class StatsRecorder:
    """Attach to a spiking network, run it, read :attr:`stats`.

    Neurons report the spikes they emit. Synaptic layers that receive spikes
    report ``sum_t |s(t)| * fanout`` accumulates (methods.md O21); layers fed
    analog values report the MACs of their ANN equivalent, once when the input
    is time-constant (computed once) and ``T`` times otherwise. Step gains of
    weighted codes count one multiply per output value and weighted step.

    A network with a graph readout (``global_*_pool``) also gets every count per
    graph (:attr:`LayerStats.per_graph`): the counts of node rows go to the graph
    of their node, read from the readout's ``batch`` argument (edges never cross
    graphs, so a node's synaptic operations are its graph's); the MACs of an
    analog layer are split by rows. A layer fed a per-graph mean of spikes counts
    :math:`N_g` events per unit of graph :math:`g` and one multiply per output
    value and step (the division by :math:`N_g`).

    Args:
        network (nn.Module): the module tree to watch.
        energy_model (EnergyModel): constants for the energy estimate.
    """

    def __init__(self, network: nn.Module, energy_model: EnergyModel = EnergyModel()) -> None:
        self.network = network
        self.energy_model = energy_model
        self.stats = SpikeStats(time_steps=0, energy_model=energy_model)
        self.first_step = 0
        self._handles: List = []
        self._graph_index: Optional[Tuple[Tensor, int]] = None
        self._rows: Dict[Tuple[str, str], Tensor] = {}

    def __enter__(self) -> "StatsRecorder":
        for name, module in self.network.named_modules():
            if isinstance(module, Neuron):
                self._handles.append(module.register_forward_hook(self._neuron_hook(name)))
            elif isinstance(module, SynapticLayer) and not self._inside_synaptic(name):
                self._handles.append(module.register_forward_hook(self._synapse_hook(name)))
            elif isinstance(module, GraphReadout):
                hook = module.register_forward_pre_hook(self._readout_hook, with_kwargs=True)
                self._handles.append(hook)
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._split_by_graph()

    def _readout_hook(self, module: GraphReadout, args, kwargs) -> None:
        x, *rest = args
        options = dict(zip(("index", "ptr", "dim_size", "dim"), rest), **kwargs)
        self._graph_index = module.graph_index(
            x,
            options.get("index"),
            options.get("ptr"),
            options.get("dim_size"),
            options.get("dim", -2),
        )

    def _add_rows(self, layer: str, count: str, per_row: Tensor) -> None:
        """Add the counts of every row (node, graph or sample) of one call."""
        per_row = per_row.detach().to(torch.float64)
        key = (layer, count)
        self._rows[key] = self._rows[key] + per_row if key in self._rows else per_row

    def _split_by_graph(self) -> None:
        """Fill :attr:`LayerStats.per_graph` once a graph readout has named the graphs."""
        if self._graph_index is None:
            return
        index, graphs = self._graph_index
        nodes = index.shape[0]
        for (name, count), per_row in self._rows.items():
            if per_row.shape[0] == nodes:
                per_graph = per_row.new_zeros(graphs).index_add_(0, index, per_row)
            elif per_row.shape[0] == graphs:
                per_graph = per_row
            else:
                continue
            self._layer(name, "").per_graph[count] = per_graph

    def _nodes_per_graph(self, module: SynapticLayer, rows: int) -> Tensor:
        """:math:`N_g` for a layer fed a per-graph mean of ``rows`` graphs."""
        if self._graph_index is None:
            raise RuntimeError(f"{type(module).__name__} is fed a graph mean but no readout ran.")
        index, graphs = self._graph_index
        return torch.bincount(index, minlength=graphs)[:rows].to(torch.float64)

    def _inside_synaptic(self, name: str) -> bool:
        """Sub-layers (a graph layer's linear map) are counted by their parent."""
        parts = name.split(".")
        for depth in range(1, len(parts)):
            parent = self.network.get_submodule(".".join(parts[:depth]))
            if isinstance(parent, SynapticLayer):
                return True
        return False

    def _layer(self, name: str, kind: str) -> LayerStats:
        for layer in self.stats.layers:
            if layer.name == name:
                return layer
        layer = LayerStats(name=name, kind=kind)
        self.stats.layers.append(layer)
        return layer

    def _neuron_hook(self, name: str):
        @torch.no_grad()
        def hook(module, inputs, spikes):
            layer = self._layer(name, "neuron")
            layer.neurons = spikes[0].numel()
            layer.add_steps("spikes", spikes.abs().flatten(1).sum(dim=1), self.first_step)
            if spikes.dim() >= 3:
                self._add_rows(name, "spikes", spikes.abs().sum(0).flatten(1).sum(1))
            per_step = module.multiplies_per_neuron_step
            if per_step:
                steps = torch.full((spikes.shape[0],), float(per_step * spikes[0].numel()))
                layer.add_steps("multiplies", steps, self.first_step)
            end = self.first_step + spikes.shape[0]
            self.stats.time_steps = max(self.stats.time_steps, end)

        return hook

    def _synapse_hook(self, name: str):
        @torch.no_grad()
        def hook(module, inputs, output):
            layer = self._layer(name, "synapse")
            x = inputs[0]
            steps = x.shape[0]
            dense = module.dense_macs(*inputs)
            rows = x.shape[1] if x.dim() >= 3 else None
            if module.receives_spikes:
                fanout = module.synaptic_fanout(*inputs) * module.input_event_scale
                per_sample = fanout.to(x.dtype).expand(x.shape[1:])
                if module.input_averages_graph_nodes:  # a unit of graph g: N_g events
                    nodes = self._nodes_per_graph(module, x.shape[1]).to(x.dtype)
                    per_sample = per_sample * nodes.view(-1, *([1] * (x.dim() - 2)))
                    divisions = torch.full((steps,), float(output[0].numel()))
                    layer.add_steps("multiplies", divisions, self.first_step)
                    per_graph = steps * output[0].numel() / x.shape[1]
                    self._add_rows(name, "multiplies", torch.full((x.shape[1],), per_graph))
                # one matmul per run: |s(t)| . fanout for every step, no product tensor
                ops = x.abs().reshape(steps, -1) @ per_sample.reshape(-1)
                layer.add_steps("synaptic_ops", ops, self.first_step)
                if rows is not None:
                    events = x.abs().sum(0) * per_sample
                    self._add_rows(name, "synaptic_ops", events.reshape(rows, -1).sum(1))
            else:  # analog input: MACs every step, or once at the first if time-constant
                if not is_time_constant(x):
                    macs = torch.full((steps,), float(dense))
                else:  # computed once for the whole run, at its first step
                    macs = torch.zeros(steps)
                    macs[0] = dense if self.first_step == 0 else 0.0
                layer.add_steps("macs", macs, self.first_step)
                if rows is not None:  # split by rows
                    self._add_rows(name, "macs", torch.full((rows,), float(macs.sum()) / rows))
            layer.ann_macs = dense
            gains = module.step_gains
            if gains is not None and not torch.all((gains == 0) | (gains == 1)):
                weighted = (gains != 0).to(torch.float64) * output[0].numel()
                layer.add_steps("multiplies", weighted, self.first_step)
                if rows is not None:
                    share = float(weighted[:steps].sum()) / rows
                    self._add_rows(name, "multiplies", torch.full((rows,), share))

        return hook
