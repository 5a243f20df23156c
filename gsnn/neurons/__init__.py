"""Spiking neurons. Every neuron maps currents ``[T, ...]`` to spikes ``[T, ...]``."""

from gsnn.neurons.if_neuron import IFNeuron

__all__ = ["IFNeuron"]
