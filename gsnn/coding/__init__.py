"""Input coders: ``coder(x, T)`` turns an input tensor into ``[T, ...]`` currents or spikes."""

from gsnn.coding.analog import AnalogCoder
from gsnn.coding.bernoulli_rate import BernoulliRateCoder
from gsnn.coding.coder import Coder
from gsnn.coding.deterministic_rate import DeterministicRateCoder
from gsnn.coding.single_spike import SingleSpikeCoder

CODERS = {
    "analog": AnalogCoder,
    "bernoulli": BernoulliRateCoder,
    "deterministic": DeterministicRateCoder,
}

__all__ = [
    "AnalogCoder",
    "BernoulliRateCoder",
    "CODERS",
    "Coder",
    "DeterministicRateCoder",
    "SingleSpikeCoder",
]
