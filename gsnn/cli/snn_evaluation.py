"""Run a converted network on a graph's nodes: accuracy, accuracy after each step, statistics."""

import time
from typing import Any, Dict

import torch
from torch import Tensor
from torch_geometric.data import Data

from gsnn.convert import SpikingNetwork

SPLITS = ("train", "val", "test")


def evaluate_snn(snn: SpikingNetwork, data: Data, mask: Tensor) -> Dict[str, Any]:
    """One SNN pass over the graph, scored on the nodes of ``mask``.

    Returns:
        dict: ``accuracy`` (in [0, 1]), ``accuracy_per_step`` (after each simulated
        step, from the same pass), ``accuracy_by_split`` (on the graph's train, val
        and test masks, same pass), ``latency_steps``, ``inference_seconds`` and the
        statistics of :class:`~gsnn.metrics.SpikeStats` (``spikes_per_neuron``,
        ``synaptic_ops``, ``macs``, ``ann_macs``, ``energy_ratio``).
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
        "synaptic_ops": stats.synaptic_ops,
        "macs": stats.macs,
        "ann_macs": stats.ann_macs,
        "energy_ratio": stats.energy_ratio,
    }
