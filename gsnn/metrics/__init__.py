"""Spike counts, synaptic operations and energy estimates."""

from gsnn.metrics.energy import EnergyModel
from gsnn.metrics.recorder import StatsRecorder
from gsnn.metrics.spike_stats import LayerStats, SpikeStats

__all__ = ["EnergyModel", "LayerStats", "SpikeStats", "StatsRecorder"]
