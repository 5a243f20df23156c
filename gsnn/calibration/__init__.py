"""Calibration: activation statistics of a traced ANN at its activation sites."""

from gsnn.calibration.activation_recorder import ActivationRecorder, Calibration, calibrate
from gsnn.calibration.site_statistics import MAX_KEPT_VALUES, SiteStatistics, summary_parts

__all__ = [
    "MAX_KEPT_VALUES",
    "ActivationRecorder",
    "Calibration",
    "SiteStatistics",
    "calibrate",
    "summary_parts",
]
