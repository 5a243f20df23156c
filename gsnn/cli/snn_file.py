"""A converted network saved by ``gsnn convert --save``: :func:`gsnn.save`'s file plus a record
of what it was converted from.

The record is the file's ``converted`` entry (a dict of text and numbers), next to
the entries :func:`gsnn.save` writes; :func:`gsnn.load` ignores it. Its keys:
``dataset`` (the ``--dataset`` name or file), ``seed`` (the split's seed),
``task``, ``model``, ``ann`` (the ``--load`` file, or ``None`` if trained then),
``ann_activation``, ``method``, ``T`` and ``coding``.
"""

import io
from typing import Any, Dict

import torch

from gsnn.convert import SpikingNetwork
from gsnn.serialization import save


def save_snn(snn: SpikingNetwork, path: str, converted: Dict[str, Any]) -> None:
    """Write ``snn`` with :func:`gsnn.save` and the record ``converted`` to ``path``."""
    buffer = io.BytesIO()
    save(snn, buffer)
    buffer.seek(0)
    payload = torch.load(buffer, weights_only=True)
    payload["converted"] = converted
    torch.save(payload, path)
