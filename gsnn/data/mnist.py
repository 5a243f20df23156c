"""MNIST from its four IDX files, with the offline-copy rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from gsnn.data.download import download_from_first_working
from gsnn.data.idx_format import IdxFormatError, read_idx
from gsnn.data.mirror import DatasetUnavailableError, copy_missing_from_mirror

MNIST_RELATIVE_DIR = "mnist/raw"
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Where the files are downloaded from, tried in order (the first is the mirror torchvision uses).
MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
MNIST_IMAGE_SIZE = 28
MNIST_NUM_CLASSES = 10


def mnist(
    split: str = "train", root: str | Path = "datasets", normalize: bool = True
) -> TensorDataset:
    """Load the MNIST training or test images.

    The raw files live at ``<root>/mnist/raw/<name>`` or ``<name>.gz`` (e.g.
    ``train-images-idx3-ubyte.gz``). Missing ones are copied from
    ``$GSNN_DATA_MIRROR/mnist/raw/`` when it holds them, otherwise downloaded.

    Args:
        split (str): ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
            (default: ``"train"``)
        root (str or Path): the data root. (default: ``"datasets"``)
        normalize (bool): standardise the [0, 1] pixels with mean 0.1307 and standard
            deviation 0.3081. (default: ``True``)

    Returns:
        TensorDataset: ``(images, labels)``; its attribute ``source`` is ``"idx-files"``.

    Shapes:
        - **images:** :math:`(N, 1, 28, 28)`, float32
        - **labels:** :math:`(N)`, int64 in 0..9

    Raises:
        ValueError: if ``split`` is neither ``"train"`` nor ``"test"``.
        DatasetUnavailableError: if files are missing, the mirror does not hold them and
            the download fails; the message names the files and the fixes.
        IdxFormatError: if a file is not a well-formed MNIST IDX file.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"Unknown MNIST split {split!r}; expected 'train' or 'test'.")
    raw_dir = Path(root) / MNIST_RELATIVE_DIR
    image_name, label_name = MNIST_FILES[split]
    provide_mnist_files(Path(root), [image_name, label_name])

    images = read_idx(_existing_form(raw_dir, image_name))
    labels = read_idx(_existing_form(raw_dir, label_name))
    _check_mnist_arrays(images, labels, raw_dir, image_name, label_name)

    image_tensor = torch.from_numpy(images).unsqueeze(1).float().div_(255.0)
    if normalize:
        image_tensor.sub_(MNIST_MEAN).div_(MNIST_STD)
    dataset = TensorDataset(image_tensor, torch.from_numpy(labels.astype(np.int64)))
    dataset.source = "idx-files"
    return dataset


def provide_mnist_files(root: Path, base_names: list[str]) -> None:
    """Make sure each raw file is under ``<root>/mnist/raw`` (plain or ``.gz``).

    Missing files are copied from the mirror (the ``.gz`` form first), then downloaded
    as ``.gz``.

    Raises:
        DatasetUnavailableError: if some files are still missing after both.
    """
    raw_dir = root / MNIST_RELATIVE_DIR
    for form in (".gz", ""):
        absent = [name for name in base_names if _existing_form(raw_dir, name) is None]
        copy_missing_from_mirror(root, MNIST_RELATIVE_DIR, [name + form for name in absent])

    failures = []
    for name in base_names:
        if _existing_form(raw_dir, name) is None:
            failures += download_from_first_working(
                MNIST_URLS, name + ".gz", raw_dir / f"{name}.gz"
            )

    missing = [name + ".gz" for name in base_names if _existing_form(raw_dir, name) is None]
    if missing:
        raise DatasetUnavailableError(
            root, MNIST_RELATIVE_DIR, missing, "; ".join(failures), downloader="gsnn"
        )


def _existing_form(raw_dir: Path, base_name: str) -> Path | None:
    # The plain file wins over the compressed one when both exist.
    for candidate in (raw_dir / base_name, raw_dir / f"{base_name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _check_mnist_arrays(
    images: np.ndarray, labels: np.ndarray, raw_dir: Path, image_name: str, label_name: str
) -> None:
    fix = "delete the file so that it is copied or downloaded again"
    size = MNIST_IMAGE_SIZE
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (size, size):
        raise IdxFormatError(
            f"{raw_dir / image_name} holds {images.dtype} {images.shape}; MNIST images are "
            f"uint8 (N, {size}, {size}). {fix}."
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IdxFormatError(
            f"{raw_dir / label_name} holds {labels.dtype} {labels.shape}; MNIST labels are "
            f"uint8 (N,). {fix}."
        )
    if len(images) != len(labels):
        raise IdxFormatError(
            f"{raw_dir / image_name} holds {len(images)} images but {raw_dir / label_name} "
            f"holds {len(labels)} labels; {fix} (one of them is from another split or "
            "data set)."
        )
    if len(labels) and int(labels.max()) >= MNIST_NUM_CLASSES:
        raise IdxFormatError(
            f"{raw_dir / label_name} holds the label {int(labels.max())}; MNIST labels are "
            f"0..{MNIST_NUM_CLASSES - 1}. {fix}."
        )
