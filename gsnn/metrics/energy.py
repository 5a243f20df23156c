"""Energy per operation: the constants of the estimate, configurable."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EnergyModel:
    """Per-operation energy in picojoules (defaults: 45 nm CMOS, 32-bit float).

    The default constants (4.6 pJ per multiply-accumulate, 0.9 pJ per
    accumulate) are the ones used throughout the SNN literature (Horowitz,
    ISSCC 2014). Results built on them are *estimates* of what dedicated
    hardware would spend on arithmetic; memory traffic is not included.

    Args:
        mac_pj (float): energy of one multiply-accumulate. (default: ``4.6``)
        ac_pj (float): energy of one accumulate (a synaptic operation). (default: ``0.9``)
    """

    mac_pj: float = 4.6
    ac_pj: float = 0.9

    def energy_pj(self, macs: float, accumulates: float) -> float:
        """Estimated energy of ``macs`` multiply-accumulates and ``accumulates`` adds."""
        return macs * self.mac_pj + accumulates * self.ac_pj
