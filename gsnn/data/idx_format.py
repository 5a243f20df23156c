"""The IDX file format of MNIST: a magic number, the dimension sizes, then the raw array.

Layout (all integers big-endian): two zero bytes, one byte naming the element type
(``0x08`` unsigned byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32,
``0x0D`` float32, ``0x0E`` float64), one byte with the number of dimensions ``D``,
then ``D`` unsigned 32-bit sizes, then the elements in row-major order. Files may be
gzip-compressed; this is recognised from their first bytes, not from their name.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

IDX_ELEMENT_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"
HEADER_BYTES = 4
SIZE_BYTES = 4


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file (or not a readable gzip of one)."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not.

    Args:
        path (str or Path): the file.

    Returns:
        np.ndarray: the array with the shape and element type the header declares, in
        native byte order.

    Raises:
        IdxFormatError: if the gzip stream is corrupt, the magic number is wrong, or the
            number of data bytes does not match the declared sizes; the message names
            the file.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise IdxFormatError(
                f"{path} is not a readable gzip file ({error}); delete it so that it is "
                "copied or downloaded again."
            ) from error
    return parse_idx(data, name=str(path))


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the (uncompressed) bytes of an IDX file.

    Args:
        data (bytes): the file's contents.
        name (str): how to name the data in error messages, usually its path.

    Returns:
        np.ndarray: the array with the declared shape and element type, in native byte
        order.

    Raises:
        IdxFormatError: if the magic number is wrong or the data length does not match
            the declared sizes.
    """
    fix = "delete it so that it is copied or downloaded again"
    if len(data) < HEADER_BYTES:
        raise IdxFormatError(f"{name} is too short for an IDX header ({len(data)} bytes); {fix}.")
    zero_bytes, type_code, num_dims = data[:2], data[2], data[3]
    if zero_bytes != b"\x00\x00" or type_code not in IDX_ELEMENT_TYPES:
        raise IdxFormatError(
            f"{name} is not an IDX file: its magic number is 0x{data[:4].hex()}, expected "
            f"0x0000 followed by a type code among "
            f"{', '.join(f'0x{code:02x}' for code in IDX_ELEMENT_TYPES)}; {fix}."
        )
    sizes_end = HEADER_BYTES + SIZE_BYTES * num_dims
    if len(data) < sizes_end:
        raise IdxFormatError(
            f"{name} declares {num_dims} dimensions but ends inside their sizes; {fix}."
        )
    shape = tuple(int(size) for size in np.frombuffer(data, ">u4", num_dims, HEADER_BYTES))
    dtype = IDX_ELEMENT_TYPES[type_code]
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual_bytes = len(data) - sizes_end
    if actual_bytes != expected_bytes:
        raise IdxFormatError(
            f"{name} declares shape {shape} of {dtype.name} ({expected_bytes} data bytes) "
            f"but holds {actual_bytes} data bytes; {fix}."
        )
    array = np.frombuffer(data, dtype, offset=sizes_end).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)
