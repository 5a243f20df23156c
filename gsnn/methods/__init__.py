"""Conversion methods, one file each, registered by name."""

from gsnn.methods.method import ActivationSite, ConversionMethod
from gsnn.methods.optimal import OptimalMethod
from gsnn.methods.qcfs import QCFSMethod
from gsnn.methods.rate import RateMethod
from gsnn.methods.registry import METHODS, get_method, register_method

__all__ = [
    "METHODS",
    "ActivationSite",
    "ConversionMethod",
    "OptimalMethod",
    "QCFSMethod",
    "RateMethod",
    "get_method",
    "register_method",
]
