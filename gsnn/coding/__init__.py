"""Input coders: ``coder(x, T)`` turns an input tensor into ``[T, ...]`` currents or spikes."""

from gsnn.coding.analog import AnalogCoder
from gsnn.coding.bernoulli_rate import BernoulliRateCoder
from gsnn.coding.deterministic_rate import DeterministicRateCoder

CODERS = {
    "analog": AnalogCoder,
    "bernoulli": BernoulliRateCoder,
    "deterministic": DeterministicRateCoder,
}

__all__ = ["AnalogCoder", "BernoulliRateCoder", "DeterministicRateCoder", "CODERS"]
