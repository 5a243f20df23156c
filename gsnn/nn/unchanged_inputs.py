"""Remembering that the tensors of a call passed their checks, while they stay unchanged."""

import weakref
from typing import Optional, Tuple

from torch import Tensor


class UnchangedInputs:
    """The tensors of the last checked call, by identity and version counter.

    :meth:`same` is true when a call passes the very tensor objects of the call
    :meth:`remember` recorded, none of them written in place since (every in-place
    op on a tensor or its views bumps its version counter), so their checks need not
    run again: a network called repeatedly on one graph checks it once. Writes that
    bypass autograd's version counter (``tensor.data``, a NumPy view) are not seen.
    The memory is not pickled or deep-copied: a copy checks its first call again.
    """

    def __init__(self) -> None:
        self._seen: Tuple = ()

    @staticmethod
    def _key(tensor: Optional[Tensor]) -> Tuple:
        if tensor is None:
            return (None, None)
        return (weakref.ref(tensor), tensor._version)

    def same(self, *tensors: Optional[Tensor]) -> bool:
        """Whether ``tensors`` are the remembered ones, unchanged."""
        if len(tensors) != len(self._seen):
            return False
        for tensor, (ref, version) in zip(tensors, self._seen):
            if tensor is None:
                if ref is not None:
                    return False
            elif ref is None or ref() is not tensor or tensor._version != version:
                return False
        return True

    def remember(self, *tensors: Optional[Tensor]) -> None:
        """Record ``tensors`` as checked."""
        self._seen = tuple(self._key(tensor) for tensor in tensors)

    def __getstate__(self) -> dict:
        return {"_seen": ()}

    def __deepcopy__(self, memo) -> "UnchangedInputs":
        return UnchangedInputs()
