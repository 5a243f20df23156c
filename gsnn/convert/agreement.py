"""The ANN-to-SNN agreement check."""

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from gsnn.convert.spiking_network import SpikingNetwork


@torch.no_grad()
def agreement(
    snn: SpikingNetwork, inputs: Tuple, ann_output: Tensor, mask: Optional[Tensor] = None
) -> Dict[str, float]:
    """Fraction of rows where the SNN predicts the ANN's class (argmax of the last axis)."""
    snn_output = snn(*inputs)
    same = snn_output.argmax(dim=-1) == ann_output.argmax(dim=-1)
    if mask is not None:
        same = same[mask]
    return {"agreement": float(same.float().mean()), "rows": int(same.numel()), "T": snn.T}
