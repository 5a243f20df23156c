"""Spiking neurons. Every neuron maps currents ``[T, ...]`` to spikes ``[T, ...]``."""

from gsnn.neurons.if_neuron import IFNeuron
from gsnn.neurons.neuron import Neuron
from gsnn.neurons.one_spike_neuron import OneSpikeNeuron
from gsnn.neurons.phase_neuron import PhaseNeuron
from gsnn.neurons.ternary_self_amplifying_neuron import TernarySelfAmplifyingNeuron
from gsnn.neurons.two_phase_neuron import TwoPhaseNeuron

__all__ = [
    "IFNeuron",
    "Neuron",
    "OneSpikeNeuron",
    "PhaseNeuron",
    "TernarySelfAmplifyingNeuron",
    "TwoPhaseNeuron",
]
