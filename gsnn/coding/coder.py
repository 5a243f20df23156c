"""The coder contract: what every input coder declares."""

from typing import Optional

from torch import Tensor, nn


class Coder(nn.Module):
    """Base class of input coders: ``forward(x, T) -> [T, *x.shape]`` currents or spikes.

    Attributes:
        amplitude (Tensor, optional): the value one spike of the code stands for,
            which the converter folds into the layers reading the input (like a
            neuron's threshold); ``None`` for codes whose outputs are the values
            themselves (analog current) or unit spikes of a rate code.
    """

    amplitude: Optional[Tensor] = None
