"""The error raised when a model cannot be converted."""

from typing import Sequence


class ConversionError(ValueError):
    """A model holds operations gsnn cannot turn into spiking equivalents.

    Attributes:
        offending (list of str): qualified names of every unconvertible op.
    """

    def __init__(self, message: str, offending: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.offending = list(offending)
