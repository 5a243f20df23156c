"""The neuron contract: what every spiking neuron declares."""

from typing import ClassVar

from torch import nn


class Neuron(nn.Module):
    """Base class of spiking neurons: ``forward(current[T, ...]) -> spikes[T, ...]``.

    State is created fresh on every call. A neuron declares what the rest of
    gsnn needs to know about it:

    Attributes:
        streams_state (bool): the neuron can carry its membrane from one chunk
            of steps to the next (it then provides ``keep_state`` and ``reset()``);
            windowed neurons, which need the whole window at once, cannot.
        multiplies_per_neuron_step (int): multiplies per neuron and step on top of
            accumulates (a self-amplifying membrane), for the statistics.
    """

    streams_state: ClassVar[bool] = False
    multiplies_per_neuron_step: ClassVar[int] = 0
