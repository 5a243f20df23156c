"""gsnn: convert trained graph neural networks (and CNNs) into spiking neural networks."""

from gsnn import ann, coding, methods, metrics, neurons, nn
from gsnn.convert import (
    ConversionError,
    SiteError,
    SpikingNetwork,
    convert,
    site_error_table,
    site_errors,
    supported_ops,
)
from gsnn.serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "ConversionError",
    "SiteError",
    "SpikingNetwork",
    "__version__",
    "ann",
    "coding",
    "convert",
    "load",
    "methods",
    "metrics",
    "neurons",
    "nn",
    "save",
    "site_error_table",
    "site_errors",
    "supported_ops",
]
