"""CIFAR-10 from the official python batches or from an image folder, with a decoded cache.

Layout under the data root::

    <root>/cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch}   official batches
    <root>/cifar10/cifar-10-python.tar.gz                            official archive
    <root>/cifar10/{train,test}/<class>/*.jpg                        extracted image folder
    <root>/cifar10/cifar10-jpeg-q75.tar                              image folder as a tar
    <root>/cifar10/processed/<source>-<split>.npz                    decoded uint8 cache

Missing raw files are copied from ``$GSNN_DATA_MIRROR/cifar10/`` (same layout). The
JPEG copy is lossy: results must say which copy they used (``dataset.source``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from gsnn.data.cifar10_jpeg import CIFAR10_CLASSES, read_jpeg_folder, read_jpeg_tar
from gsnn.data.cifar10_python_batches import (
    CIFAR_IMAGE_SHAPE,
    PYTHON_ARCHIVE_URLS,
    PYTHON_BATCH_FILES,
    PYTHON_BATCHES_DIR,
    CifarFormatError,
    fetch_python_batches,
    read_python_batches,
)
from gsnn.data.mirror import (
    DatasetUnavailableError,
    copy_missing_from_mirror,
    mirror_root,
    missing_files,
)

CIFAR_RELATIVE_DIR = "cifar10"
PYTHON_BATCHES = "python-batches"
JPEG_FOLDER = "jpeg-folder"
CIFAR_SOURCES = ("auto", PYTHON_BATCHES, JPEG_FOLDER)
JPEG_TAR = "cifar10-jpeg-q75.tar"
CIFAR_SPLITS = ("train", "test")
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def cifar10(
    split: str = "train",
    root: str | Path = "datasets",
    normalize: bool = True,
    source: str = "auto",
) -> TensorDataset:
    """Load the CIFAR-10 training or test images.

    With ``source="auto"`` the official python batches are used when they are in the
    root or the mirror, else the image folder (extracted, or the tar
    ``cifar10-jpeg-q75.tar`` in the root or the mirror), else the official archive is
    downloaded. The first load of a source decodes it and caches the uint8 arrays in
    ``<root>/cifar10/processed/<source>-<split>.npz``; later loads read that cache
    (delete it to decode again). Reading the tar decodes and caches both splits at once.

    Args:
        split (str): ``"train"`` (50,000 images) or ``"test"`` (10,000 images).
            (default: ``"train"``)
        root (str or Path): the data root. (default: ``"datasets"``)
        normalize (bool): standardise the [0, 1] pixels per channel with mean
            (0.4914, 0.4822, 0.4465) and standard deviation (0.2470, 0.2435, 0.2616).
            (default: ``True``)
        source (str): ``"auto"``, ``"python-batches"`` or ``"jpeg-folder"``.
            (default: ``"auto"``)

    Returns:
        TensorDataset: ``(images, labels)``, with the attributes ``source``
        (``"python-batches"`` or ``"jpeg-folder"``: the copy used) and ``classes``
        (class names in label order).

    Shapes:
        - **images:** :math:`(N, 3, 32, 32)`, float32
        - **labels:** :math:`(N)`, int64 in 0..9

    Raises:
        ValueError: if ``split`` or ``source`` is not one of the values above.
        DatasetUnavailableError: if the requested copy is neither in the root nor in the
            mirror and cannot be downloaded; the message names the files and the fixes.
        CifarFormatError: if a file does not hold CIFAR-10 data in the expected format.
    """
    if split not in CIFAR_SPLITS:
        raise ValueError(f"Unknown CIFAR-10 split {split!r}; expected 'train' or 'test'.")
    if source not in CIFAR_SOURCES:
        raise ValueError(
            f"Unknown CIFAR-10 source {source!r}; expected one of {', '.join(CIFAR_SOURCES)}."
        )
    root = Path(root)
    if source == "auto":
        source = _auto_source(root, split)
    images, labels = _cached_uint8(root, split, source)

    image_tensor = torch.from_numpy(images).float().div_(255.0)
    if normalize:
        mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
        image_tensor.sub_(mean).div_(std)
    dataset = TensorDataset(image_tensor, torch.from_numpy(labels))
    dataset.source = source
    dataset.classes = CIFAR10_CLASSES
    return dataset


def cache_path(root: str | Path, source: str, split: str) -> Path:
    """Where the decoded uint8 arrays of a source and split are cached."""
    return Path(root) / CIFAR_RELATIVE_DIR / "processed" / f"{source}-{split}.npz"


def _auto_source(root: Path, split: str) -> str:
    if cache_path(root, PYTHON_BATCHES, split).is_file() or _python_batches_present(root, split):
        return PYTHON_BATCHES
    if cache_path(root, JPEG_FOLDER, split).is_file() or _jpeg_present(root, split):
        return JPEG_FOLDER
    return PYTHON_BATCHES  # not present anywhere: downloading the official batches is left


def _python_batches_present(root: Path, split: str) -> bool:
    relative_dir = f"{CIFAR_RELATIVE_DIR}/{PYTHON_BATCHES_DIR}"
    names = PYTHON_BATCH_FILES[split]
    copy_missing_from_mirror(root, relative_dir, names)
    return not missing_files(root / relative_dir, names)


def _jpeg_present(root: Path, split: str) -> bool:
    cifar_dir = root / CIFAR_RELATIVE_DIR
    if (cifar_dir / split).is_dir():
        return True
    copy_missing_from_mirror(root, CIFAR_RELATIVE_DIR, [JPEG_TAR])
    return (cifar_dir / JPEG_TAR).is_file()


def _cached_uint8(root: Path, split: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    cached = cache_path(root, source, split)
    if cached.is_file():
        return _read_cache(cached)
    if source == PYTHON_BATCHES:
        decoded = {split: _decode_python_batches(root, split)}
    else:
        decoded = _decode_jpeg(root, split)
    for decoded_split, (images, labels) in decoded.items():
        _write_cache(cache_path(root, source, decoded_split), images, labels)
    return decoded[split]


def _decode_python_batches(root: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    cifar_dir = root / CIFAR_RELATIVE_DIR
    relative_dir = f"{CIFAR_RELATIVE_DIR}/{PYTHON_BATCHES_DIR}"
    if not _python_batches_present(root, split):
        failures = fetch_python_batches(cifar_dir)
        missing = missing_files(root / relative_dir, PYTHON_BATCH_FILES[split])
        if missing:
            failure = "; ".join(failures) or f"{PYTHON_ARCHIVE_URLS[0]} did not provide them"
            failure += _jpeg_copy_note(root, split)
            raise DatasetUnavailableError(root, relative_dir, missing, failure, downloader="gsnn")
    return read_python_batches(root / relative_dir, split)


def _jpeg_copy_note(root: Path, split: str) -> str:
    # Says whether the JPEG copy could stand in, without copying it from the mirror.
    mirror = mirror_root()
    places = [root / CIFAR_RELATIVE_DIR / split, root / CIFAR_RELATIVE_DIR / JPEG_TAR]
    if mirror is not None:
        places.append(mirror / CIFAR_RELATIVE_DIR / JPEG_TAR)
    found = [place for place in places if place.exists()]
    if found:
        return f" (the lossy JPEG copy {found[0]} is there: source='jpeg-folder' reads it)"
    return (
        f" (the JPEG copy {JPEG_TAR}, which source='auto' or 'jpeg-folder' would also read, "
        "is not there either)"
    )


def _decode_jpeg(root: Path, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    cifar_dir = root / CIFAR_RELATIVE_DIR
    if (cifar_dir / split).is_dir():
        return {split: read_jpeg_folder(cifar_dir / split)}
    if not _jpeg_present(root, split):
        failure = (
            "the JPEG copy has no download address (source='python-batches' downloads the "
            "official batches instead)"
        )
        raise DatasetUnavailableError(
            root, CIFAR_RELATIVE_DIR, [JPEG_TAR], failure, downloader="gsnn"
        )
    decoded = read_jpeg_tar(cifar_dir / JPEG_TAR)
    if split not in decoded:
        raise CifarFormatError(
            f"{cifar_dir / JPEG_TAR} holds no {split}/<class>/<image> members; replace it "
            "with the CIFAR-10 image-folder tar."
        )
    return decoded


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as arrays:
        images, labels = arrays["images"], arrays["labels"]
    if images.dtype != np.uint8 or images.shape[1:] != CIFAR_IMAGE_SHAPE:
        raise CifarFormatError(
            f"The cache {path} holds images of {images.dtype} {images.shape}; delete it so "
            "that the data is decoded again."
        )
    return images, labels.astype(np.int64, copy=False)


def _write_cache(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    # Written under a temporary name and renamed, so an interrupted write never
    # leaves a truncated cache behind.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, images=images, labels=labels)
    os.replace(partial, path)
