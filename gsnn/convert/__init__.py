"""ANN-to-SNN conversion: trace, normalise, calibrate, build, check."""

from gsnn.convert.converter import convert
from gsnn.convert.errors import ConversionError
from gsnn.convert.site_errors import SiteError, site_error_table, site_errors
from gsnn.convert.spiking_network import SpikingNetwork
from gsnn.convert.supported_op_table import supported_ops

__all__ = [
    "ConversionError",
    "SiteError",
    "SpikingNetwork",
    "convert",
    "site_error_table",
    "site_errors",
    "supported_ops",
]
