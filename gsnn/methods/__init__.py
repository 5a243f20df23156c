"""Conversion methods, one file each, registered by name."""

from gsnn.methods.burst import BurstMethod
from gsnn.methods.css import CSSMethod
from gsnn.methods.dual_phase import DualPhaseMethod
from gsnn.methods.method import ActivationSite, ConversionMethod
from gsnn.methods.one_spike import OneSpikeMethod
from gsnn.methods.optimal import OptimalMethod
from gsnn.methods.phase import PhaseMethod
from gsnn.methods.qcfs import QCFSMethod
from gsnn.methods.rate import RateMethod
from gsnn.methods.registry import METHODS, get_method, register_method
from gsnn.methods.two_phase import TwoPhaseMethod

__all__ = [
    "METHODS",
    "ActivationSite",
    "BurstMethod",
    "CSSMethod",
    "ConversionMethod",
    "DualPhaseMethod",
    "OneSpikeMethod",
    "OptimalMethod",
    "PhaseMethod",
    "QCFSMethod",
    "RateMethod",
    "TwoPhaseMethod",
    "get_method",
    "register_method",
]
