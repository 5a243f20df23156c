"""CIFAR-10's official python batches: reading them, and downloading them where a network exists.

The official archive ``cifar-10-python.tar.gz`` holds the folder ``cifar-10-batches-py``
with the pickled batches ``data_batch_1`` .. ``data_batch_5`` (training) and
``test_batch``. Each is a dict with ``data``, uint8 of shape (n, 3072) holding the red,
green and blue 32 x 32 planes of an image one after the other, and ``labels``, a list of
n integers in 0..9.

A pickle can call any importable function while it loads, so a planted batch file could
run code. The batches are therefore read with :class:`BatchUnpickler`, which resolves only
the few globals a pickled numpy array needs and refuses every other one. (Checking an md5
per file instead would refuse batches re-pickled under Python 3, which this reader accepts;
the CIFAR-10 page publishes only the archive's md5, which :func:`fetch_python_batches`
checks.)
"""

from __future__ import annotations

import codecs
import hashlib
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from gsnn.data.download import download_from_first_working

PYTHON_BATCHES_DIR = "cifar-10-batches-py"
PYTHON_BATCH_FILES = {
    "train": tuple(f"data_batch_{index}" for index in range(1, 6)),
    "test": ("test_batch",),
}
PYTHON_ARCHIVE = "cifar-10-python.tar.gz"
PYTHON_ARCHIVE_URLS = ("https://www.cs.toronto.edu/~kriz/",)
# The md5 the CIFAR-10 page publishes for the archive.
PYTHON_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR_IMAGE_SHAPE = (3, 32, 32)
# numpy's array-rebuilding function, from whichever module this numpy version keeps it in
_NUMPY_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_NUMPY_FROM_BUFFER = np.zeros(0).__reduce_ex__(5)[0]


class CifarFormatError(ValueError):
    """A CIFAR-10 file does not hold what the format promises."""


class BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch without running code from the file.

    Dicts, lists, bytes, strings and numbers need no globals. Only these are resolved:
    ``numpy.ndarray``, ``numpy.dtype``, ``_reconstruct`` and ``_frombuffer`` (how numpy
    pickles an array, at protocols up to 4 and at 5; under ``numpy.core`` as the official
    Python 2 files name it, or ``numpy._core``), and
    ``_codecs.encode`` (how Python 3 pickles bytes at protocol 2). None of them runs code
    named by the file; any other global raises :class:`pickle.UnpicklingError`.
    """

    ALLOWED_GLOBALS = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _NUMPY_RECONSTRUCT,
        ("numpy._core.multiarray", "_reconstruct"): _NUMPY_RECONSTRUCT,
        ("numpy.core.numeric", "_frombuffer"): _NUMPY_FROM_BUFFER,
        ("numpy._core.numeric", "_frombuffer"): _NUMPY_FROM_BUFFER,
        ("_codecs", "encode"): codecs.encode,
    }

    def find_class(self, module: str, name: str):
        allowed = self.ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise pickle.UnpicklingError(
                f"the file refers to {module}.{name}, which a CIFAR-10 batch never needs "
                "(refused, so that no code from the file runs)"
            )
        return allowed


def read_python_batches(batches_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read the python batches of one split.

    Args:
        batches_dir (Path): the ``cifar-10-batches-py`` folder.
        split (str): ``"train"`` or ``"test"``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(images, labels)``, the batches concatenated in
        their official order.

    Shapes:
        - **images:** :math:`(N, 3, 32, 32)`, uint8
        - **labels:** :math:`(N)`, int64

    Raises:
        CifarFormatError: if a batch is not a dict with uint8 ``data`` of 3072 columns
            and as many ``labels`` in 0..9.
    """
    all_images, all_labels = [], []
    for name in PYTHON_BATCH_FILES[split]:
        images, labels = _read_batch(Path(batches_dir) / name)
        all_images.append(images)
        all_labels.append(labels)
    return np.concatenate(all_images), np.concatenate(all_labels)


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    fix = "delete it so that it is copied or downloaded again"
    try:
        with open(path, "rb") as file:
            batch = BatchUnpickler(file, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise CifarFormatError(
            f"{path} is not a pickled CIFAR-10 batch ({error!r}); {fix}."
        ) from error
    if not isinstance(batch, dict):
        raise CifarFormatError(f"{path} holds a {type(batch).__name__}, not a dict; {fix}.")
    # Pickled under Python 2, the keys are bytes; re-pickled under Python 3, str.
    batch = {key.decode() if isinstance(key, bytes) else key: value for key, value in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise CifarFormatError(f"{path} has the keys {sorted(batch)}, not data and labels; {fix}.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    pixels = int(np.prod(CIFAR_IMAGE_SHAPE))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        raise CifarFormatError(
            f"{path} holds data of {data.dtype} {data.shape}; expected uint8 (n, {pixels}). {fix}."
        )
    if labels.shape != (len(data),) or (len(labels) and not 0 <= labels.min() <= labels.max() < 10):
        raise CifarFormatError(
            f"{path} holds {labels.shape} labels for {len(data)} images, or labels outside 0..9; "
            f"{fix}."
        )
    return data.reshape(-1, *CIFAR_IMAGE_SHAPE), labels


def fetch_python_batches(cifar_dir: Path) -> list[str]:
    """Extract the batches from the official archive, downloading the archive if needed.

    The archive is looked for at ``<cifar_dir>/cifar-10-python.tar.gz`` and downloaded
    there when absent; its md5 is checked, then the batch files are written to
    ``<cifar_dir>/cifar-10-batches-py/``.

    Args:
        cifar_dir (Path): the ``cifar10`` folder under the data root.

    Returns:
        list[str]: why it failed, one line per failed attempt; empty on success.
    """
    archive = Path(cifar_dir) / PYTHON_ARCHIVE
    if not archive.is_file():
        failures = download_from_first_working(PYTHON_ARCHIVE_URLS, PYTHON_ARCHIVE, archive)
        if not archive.is_file():
            return failures
    digest = _md5(archive)
    if digest != PYTHON_ARCHIVE_MD5:
        archive.unlink()
        return [f"{archive} has md5 {digest}, not the published {PYTHON_ARCHIVE_MD5}; deleted it"]
    _extract_batches(archive, Path(cifar_dir) / PYTHON_BATCHES_DIR)
    return []


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _extract_batches(archive: Path, batches_dir: Path) -> None:
    # Only the known batch files are written, under names chosen here, so member
    # paths inside the archive never decide where anything lands.
    wanted = {
        f"{PYTHON_BATCHES_DIR}/{name}" for names in PYTHON_BATCH_FILES.values() for name in names
    }
    batches_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name in wanted:
                target = batches_dir / Path(member.name).name
                partial = target.with_name(target.name + ".partial")
                with tar.extractfile(member) as source, open(partial, "wb") as file:
                    file.write(source.read())
                os.replace(partial, target)
