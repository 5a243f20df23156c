"""Data set loaders that use the ecosystem's formats, with offline-copy support."""

from gsnn.data.mirror import DatasetUnavailableError
from gsnn.data.planetoid import planetoid

__all__ = ["DatasetUnavailableError", "planetoid"]
