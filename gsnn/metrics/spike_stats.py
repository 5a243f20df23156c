"""Per-layer spike and operation statistics of one SNN run."""

from dataclasses import dataclass, field, replace
from typing import Dict, List

import torch
from torch import Tensor

from gsnn.metrics.energy import EnergyModel


@dataclass
class LayerStats:
    """Counts for one neuron population or one synaptic layer, summed over the run.

    Attributes:
        name (str): module name in the converted network.
        kind (str): ``"neuron"`` or ``"synapse"``.
        neurons (int): neurons in the population (per sample; 0 for synapses).
        spikes (float): spike events emitted (``|s|`` summed, so a burst of
            ``n`` counts ``n`` and a negative spike counts one).
        synaptic_ops (float): accumulates caused by input spikes (each event
            times its fan-out through the layer, degree-aware on graphs).
        macs (float): multiply-accumulates spent on non-spike (analog) input.
        multiplies (float): other operations that are not accumulates: the
            per-step gains of weighted codes (one per receiving neuron and step).
        ann_macs (float): MACs of the same layer in the ANN, for one inference.
        per_step (dict): the same counts split by step, ``name -> (T,)`` tensor,
            for ``spikes``, ``synaptic_ops``, ``macs`` and ``multiplies`` (a
            time-constant analog input is computed, and counted, at step 1).
        per_graph (dict): the same counts of the whole run split by graph,
            ``name -> (G,)`` tensor, for networks with a graph readout
            (``global_*_pool``); empty otherwise.
    """

    name: str
    kind: str
    neurons: int = 0
    spikes: float = 0.0
    synaptic_ops: float = 0.0
    macs: float = 0.0
    multiplies: float = 0.0
    ann_macs: float = 0.0
    per_step: Dict[str, Tensor] = field(default_factory=dict)
    per_graph: Dict[str, Tensor] = field(default_factory=dict)

    @property
    def spikes_per_neuron(self) -> float:
        """Mean spikes per neuron over the whole run (0 for synapses)."""
        return self.spikes / self.neurons if self.neurons else 0.0

    def add_steps(self, name: str, counts: Tensor, first_step: int = 0) -> None:
        """Add per-step ``counts`` :math:`(T',)` of steps ``first_step, ...`` to the count
        ``name`` and to its total (a run simulated in chunks of steps adds chunk by chunk)."""
        counts = counts.detach().to(torch.float64)
        setattr(self, name, getattr(self, name) + float(counts.sum()))
        end = first_step + counts.shape[0]
        previous = self.per_step.get(name, torch.zeros(0, dtype=torch.float64))
        if previous.shape[0] < end:
            previous = torch.cat([previous, previous.new_zeros(end - previous.shape[0])])
        previous[first_step:end] += counts
        self.per_step[name] = previous

    def truncated(self, steps: int) -> "LayerStats":
        """The counts of the first ``steps`` steps only."""
        totals = {name: float(counts[:steps].sum()) for name, counts in self.per_step.items()}
        kept = {name: counts[:steps] for name, counts in self.per_step.items()}
        return replace(self, per_step=kept, per_graph={}, **totals)


@dataclass
class SpikeStats:
    """Statistics of one run of a spiking network, with an energy *estimate*.

    Attributes:
        time_steps (int): simulated steps.
        layers (list of LayerStats): in execution order.
        energy_model (EnergyModel): constants of the energy estimate.
    """

    time_steps: int
    layers: List[LayerStats] = field(default_factory=list)
    energy_model: EnergyModel = field(default_factory=EnergyModel)

    def truncated(self, steps: int) -> "SpikeStats":
        """Statistics of the first ``steps`` steps of this run (without per-graph counts,
        which are of the whole run).

        For online codes (rate, QCFS, burst: neurons that do not depend on
        ``T``) these are exactly the statistics of a run with ``T = steps``, so
        one long run gives cost versus time, as ``last_step_logits`` gives
        accuracy versus time. Windowed codes fill their windows only at the end.
        """
        if not 1 <= steps <= self.time_steps:
            raise ValueError(f"steps must lie in [1, {self.time_steps}], got {steps!r}.")
        layers = [layer.truncated(steps) for layer in self.layers]
        return replace(self, time_steps=steps, layers=layers)

    @property
    def spikes(self) -> float:
        """All spike events of the run."""
        return sum(layer.spikes for layer in self.layers)

    @property
    def neurons(self) -> int:
        """All spiking neurons of the network (per sample)."""
        return sum(layer.neurons for layer in self.layers)

    @property
    def spikes_per_neuron(self) -> float:
        """Mean spikes per spiking neuron over the run."""
        return self.spikes / self.neurons if self.neurons else 0.0

    @property
    def synaptic_ops(self) -> float:
        """All accumulates caused by spikes."""
        return sum(layer.synaptic_ops for layer in self.layers)

    @property
    def macs(self) -> float:
        """All multiply-accumulates of the SNN (analog input layers)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def multiplies(self) -> float:
        """Non-accumulate operations besides MACs (step gains), costed like MACs."""
        return sum(layer.multiplies for layer in self.layers)

    @property
    def ann_macs(self) -> float:
        """MACs of the source ANN for one inference."""
        return sum(layer.ann_macs for layer in self.layers)

    def per_graph(self, count: str) -> Tensor:
        """One count (``"spikes"``, ``"synaptic_ops"``, ``"macs"`` or ``"multiplies"``) of
        every graph of the run, summed over layers, :math:`(G,)`.

        Raises:
            ValueError: the run had no graph readout, so counts are not split by graph.
        """
        split = [layer.per_graph for layer in self.layers if layer.per_graph]
        if not split:
            raise ValueError(
                "These statistics have no per-graph counts: the network has no graph readout "
                "(global_*_pool), or they were truncated."
            )
        graphs = max(counts.shape[0] for per_graph in split for counts in per_graph.values())
        total = torch.zeros(graphs, dtype=torch.float64)
        for per_graph in split:
            if count in per_graph:
                total[: per_graph[count].shape[0]] += per_graph[count]
        return total

    @property
    def energy_per_graph_pj(self) -> Tensor:
        """Estimated SNN energy of every graph of the run in picojoules, :math:`(G,)`."""
        operations = self.per_graph("macs") + self.per_graph("multiplies")
        return self.energy_model.energy_pj(operations, self.per_graph("synaptic_ops"))

    @property
    def energy_pj(self) -> float:
        """Estimated energy of the SNN run in picojoules."""
        return self.energy_model.energy_pj(self.macs + self.multiplies, self.synaptic_ops)

    @property
    def ann_energy_pj(self) -> float:
        """Estimated energy of one ANN inference in picojoules."""
        return self.energy_model.energy_pj(self.ann_macs, 0.0)

    @property
    def energy_ratio(self) -> float:
        """SNN energy divided by ANN energy (below 1: the SNN is cheaper)."""
        return self.energy_pj / self.ann_energy_pj if self.ann_energy_pj else float("nan")

    def table(self) -> str:
        """A plain-text table, one row per layer plus a total."""
        header = (
            f"{'layer':<28}{'neurons':>9}{'spikes':>12}{'spk/neuron':>11}"
            f"{'SOPs':>14}{'SNN MACs':>14}{'multiplies':>14}{'ANN MACs':>14}"
        )
        rows = [header, "-" * len(header)]
        for layer in self.layers:
            rows.append(
                f"{layer.name:<28}{layer.neurons:>9}{layer.spikes:>12.0f}"
                f"{layer.spikes_per_neuron:>11.3f}{layer.synaptic_ops:>14.3e}"
                f"{layer.macs:>14.3e}{layer.multiplies:>14.3e}{layer.ann_macs:>14.3e}"
            )
        rows.append("-" * len(header))
        rows.append(
            f"{'total':<28}{self.neurons:>9}{self.spikes:>12.0f}{self.spikes_per_neuron:>11.3f}"
            f"{self.synaptic_ops:>14.3e}{self.macs:>14.3e}{self.multiplies:>14.3e}"
            f"{self.ann_macs:>14.3e}"
        )
        rows.append(
            f"energy estimate ({self.energy_model.mac_pj} pJ/MAC, "
            f"{self.energy_model.ac_pj} pJ/AC): "
            f"SNN {self.energy_pj / 1e6:.4f} uJ, ANN {self.ann_energy_pj / 1e6:.4f} uJ, "
            f"ratio {self.energy_ratio:.3f}"
        )
        return "\n".join(rows)
