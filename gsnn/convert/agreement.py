"""The ANN-to-SNN agreement check."""

from typing import Dict, Optional

import torch
from torch import Tensor

from gsnn.convert.input_binding import ModelCall
from gsnn.convert.spiking_network import SpikingNetwork


@torch.no_grad()
def agreement(
    snn: SpikingNetwork, call: ModelCall, ann_output: Tensor, mask: Optional[Tensor] = None
) -> Dict[str, float]:
    """Fraction of rows where the SNN, called as the ANN was (``call``), predicts the ANN's
    class (argmax of the last axis of ``ann_output``)."""
    snn_output = call.run(snn)
    same = snn_output.argmax(dim=-1) == ann_output.argmax(dim=-1)
    if mask is not None:
        same = same[mask]
    return {"agreement": float(same.float().mean()), "rows": int(same.numel()), "T": snn.T}
