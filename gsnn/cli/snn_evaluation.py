"""Run a converted network on a data set: accuracy, accuracy after each step, statistics."""

import time
from typing import Any, Dict, Iterable, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from tqdm import tqdm

from gsnn.convert import SpikingNetwork

SPLITS = ("train", "val", "test")


def evaluate_snn(snn: SpikingNetwork, data: Data, mask: Tensor) -> Dict[str, Any]:
    """One SNN pass over the graph, scored on the nodes of ``mask``.

    Returns:
        dict: ``accuracy`` (in [0, 1]), ``accuracy_per_step`` (after each simulated
        step, from the same pass), ``accuracy_by_split`` (on the graph's train, val
        and test masks, same pass), ``latency_steps``, ``inference_seconds`` and the
        statistics of :class:`~gsnn.metrics.SpikeStats` (``spikes_per_neuron``,
        ``spikes_per_sample``: all spikes over the nodes, ``synaptic_ops``, ``macs``,
        ``ann_macs``, ``energy_ratio``).
    """
    started = time.perf_counter()
    with torch.no_grad():
        prediction = snn(data.x, data.edge_index).argmax(dim=-1)
    elapsed = time.perf_counter() - started
    labels = data.y[mask]
    per_step = (snn.last_step_logits[:, mask].argmax(dim=-1) == labels).float().mean(dim=1)
    stats = snn.last_stats
    correct = (prediction == data.y).float()
    return {
        "accuracy": float(correct[mask].mean()),
        "accuracy_per_step": [round(float(value), 6) for value in per_step],
        "accuracy_by_split": {
            split: float(correct[data[f"{split}_mask"]].mean()) for split in SPLITS
        },
        "latency_steps": snn.latency_steps,
        "inference_seconds": elapsed,
        "spikes_per_neuron": stats.spikes_per_neuron,
        "spikes_per_sample": stats.spikes / data.num_nodes,
        "synaptic_ops": stats.synaptic_ops,
        "macs": stats.macs,
        "ann_macs": stats.ann_macs,
        "energy_ratio": stats.energy_ratio,
    }


def evaluate_batches(
    snn: SpikingNetwork, batches: Iterable[Tuple[tuple, Tensor]], progress: bool = False
) -> Dict[str, Any]:
    """The SNN on every ``(inputs, labels)`` batch (graphs or images), scored on all of them.

    Counts add up over the batches: ``spikes_per_neuron`` is all spikes over all neuron
    samples, ``spikes_per_sample`` all spikes over the graphs or images, ``energy_ratio``
    all SNN energy over all ANN energy, ``synaptic_ops``, ``macs`` and ``ann_macs`` are
    totals.

    Returns:
        dict: the keys of :func:`evaluate_snn` but ``accuracy_by_split``.
    """
    correct, count, seconds = 0, 0, 0.0
    per_step = None
    totals = dict.fromkeys(("spikes", "neurons", "synaptic_ops", "macs", "ann_macs"), 0.0)
    energy = ann_energy = 0.0
    for inputs, labels in tqdm(batches, desc="evaluate", disable=not progress, leave=False):
        started = time.perf_counter()
        with torch.no_grad():
            prediction = snn(*inputs).argmax(dim=-1)
        seconds += time.perf_counter() - started
        correct += int((prediction == labels).sum())
        count += len(labels)
        step_correct = (snn.last_step_logits.argmax(dim=-1) == labels).sum(dim=1)
        per_step = step_correct if per_step is None else per_step + step_correct
        stats = snn.last_stats
        for name in totals:
            totals[name] += getattr(stats, name)
        energy += stats.energy_pj
        ann_energy += stats.ann_energy_pj
    return {
        "accuracy": correct / count,
        "accuracy_per_step": [round(int(value) / count, 6) for value in per_step],
        "latency_steps": snn.latency_steps,
        "inference_seconds": seconds,
        "spikes_per_neuron": totals["spikes"] / totals["neurons"] if totals["neurons"] else 0.0,
        "spikes_per_sample": totals["spikes"] / count,
        "synaptic_ops": totals["synaptic_ops"],
        "macs": totals["macs"],
        "ann_macs": totals["ann_macs"],
        "energy_ratio": energy / ann_energy if ann_energy else float("nan"),
    }
