"""Collects SpikeStats from a running network through forward hooks."""

from typing import List

import torch
from torch import nn

from gsnn.metrics.energy import EnergyModel
from gsnn.metrics.spike_stats import LayerStats, SpikeStats
from gsnn.neurons import Neuron
from gsnn.nn.synaptic_layer import SynapticLayer
from gsnn.nn.time_constant import is_time_constant


class StatsRecorder:
    """Attach to a spiking network, run it, read :attr:`stats`.

    Neurons report the spikes they emit. Synaptic layers that receive spikes
    report ``sum_t |s(t)| * fanout`` accumulates (methods.md O21); layers fed
    analog values report the MACs of their ANN equivalent, once when the input
    is time-constant (computed once) and ``T`` times otherwise. Step gains of
    weighted codes count one multiply per output value and weighted step.

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

    def __enter__(self) -> "StatsRecorder":
        for name, module in self.network.named_modules():
            if isinstance(module, Neuron):
                self._handles.append(module.register_forward_hook(self._neuron_hook(name)))
            elif isinstance(module, SynapticLayer) and not self._inside_synaptic(name):
                self._handles.append(module.register_forward_hook(self._synapse_hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

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
            if module.receives_spikes:
                fanout = module.synaptic_fanout(*inputs) * module.input_event_scale
                # one matmul per run: |s(t)| . fanout for every step, no product tensor
                per_sample = fanout.to(x.dtype).expand(x.shape[1:]).reshape(-1)
                ops = x.abs().reshape(steps, -1) @ per_sample
                layer.add_steps("synaptic_ops", ops, self.first_step)
            else:  # analog input: MACs every step, or once at the first if time-constant
                if not is_time_constant(x):
                    macs = torch.full((steps,), float(dense))
                else:  # computed once for the whole run, at its first step
                    macs = torch.zeros(steps)
                    macs[0] = dense if self.first_step == 0 else 0.0
                layer.add_steps("macs", macs, self.first_step)
            layer.ann_macs = dense
            gains = module.step_gains
            if gains is not None and not torch.all((gains == 0) | (gains == 1)):
                weighted = (gains != 0).to(torch.float64) * output[0].numel()
                layer.add_steps("multiplies", weighted, self.first_step)

        return hook
