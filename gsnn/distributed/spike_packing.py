"""Binary spikes packed eight to a byte for sending between ranks."""

import torch
from torch import Tensor

_SHIFTS = torch.arange(8, dtype=torch.uint8)


def pack_spikes(spikes: Tensor) -> Tensor:
    r"""Pack binary spikes (every value 0 or 1) of each row into bytes, bit ``k`` of byte ``b``
    holding column ``8 b + k``.

    Shapes:
        - **input:** :math:`(R, C)`
        - **output:** :math:`(R, \lceil C / 8 \rceil)`, ``torch.uint8``
    """
    rows, columns = spikes.shape
    padded = spikes.new_zeros(rows, -(-columns // 8) * 8, dtype=torch.uint8)
    padded[:, :columns] = spikes
    return (padded.view(rows, -1, 8) << _SHIFTS).sum(dim=2, dtype=torch.uint8)


def unpack_spikes(packed: Tensor, columns: int, dtype: torch.dtype) -> Tensor:
    r"""The inverse of :func:`pack_spikes`: ``columns`` spikes per row as ``dtype``.

    Shapes:
        - **input:** :math:`(R, \lceil C / 8 \rceil)`, ``torch.uint8``
        - **output:** :math:`(R, C)`
    """
    bits = (packed.unsqueeze(2) >> _SHIFTS) & 1
    return bits.view(packed.shape[0], -1)[:, :columns].to(dtype)
