"""CIFAR-10 as an image folder, ``<split>/<class>/<name>.jpg``, extracted or inside a tar file.

Labels come from the class folder names in the official order (airplane = 0 ..
truck = 9). Images are ordered by label, then by file name, so the order does not
depend on the file system or on the order of the tar members.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from gsnn.data.cifar10_python_batches import CIFAR_IMAGE_SHAPE, CifarFormatError

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
IMAGE_FORMATS = ("JPEG", "PNG")
SPLITS = ("train", "test")


def read_jpeg_folder(split_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Decode the images of one split from an extracted folder.

    Args:
        split_dir (Path): the split's folder, holding one sub-folder per class.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(images, labels)``.

    Shapes:
        - **images:** :math:`(N, 3, 32, 32)`, uint8
        - **labels:** :math:`(N)`, int64

    Raises:
        CifarFormatError: if a class folder has an unknown name, a class has no images,
            or an image is not 32 x 32.
    """
    split_dir = Path(split_dir)
    class_dirs = [path for path in split_dir.iterdir() if path.is_dir()]
    _check_class_names((path.name for path in class_dirs), split_dir)
    found = {}
    for class_dir in class_dirs:
        for path in class_dir.iterdir():
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                found[(class_dir.name, path.name)] = path
    return _assemble(found, lambda path: path.read_bytes(), str(split_dir))


def read_jpeg_tar(tar_path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Decode both splits from a tar file, reading its members directly in one pass.

    Members are found wherever ``<split>/<class>/<image>`` ends their path, so a
    leading folder (``cifar10/train/...``) is allowed.

    Args:
        tar_path (Path): the tar file (compressed or not).

    Returns:
        dict[str, tuple[np.ndarray, np.ndarray]]: ``(images, labels)`` per split present
        in the tar, with the shapes of :func:`read_jpeg_folder`.

    Raises:
        CifarFormatError: if the tar holds no split, a class folder has an unknown name,
            a class has no images, or an image is not 32 x 32.
    """
    encoded = {split: {} for split in SPLITS}
    with tarfile.open(tar_path) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or len(parts) < 3 or parts[-3] not in SPLITS:
                continue
            if PurePosixPath(member.name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            split, class_name, file_name = parts[-3:]
            with tar.extractfile(member) as file:
                encoded[split][(class_name, file_name)] = file.read()
    decoded = {}
    for split, images in encoded.items():
        if images:
            where = f"{tar_path}:{split}"
            _check_class_names({class_name for class_name, _ in images}, where)
            decoded[split] = _assemble(images, lambda data: data, where)
    if not decoded:
        raise CifarFormatError(
            f"{tar_path} holds no images laid out as train/<class>/<image> or "
            "test/<class>/<image>; replace it with the CIFAR-10 image-folder tar."
        )
    return decoded


def _check_class_names(names: Iterable[str], where: str | Path) -> None:
    unknown = sorted(set(names) - set(CIFAR10_CLASSES))
    if unknown:
        raise CifarFormatError(
            f"{where} has the class folders {', '.join(unknown)}, which are not CIFAR-10 "
            f"classes; expected the folders {', '.join(CIFAR10_CLASSES)}."
        )


def _assemble(found: dict, read, where: str) -> tuple[np.ndarray, np.ndarray]:
    # ``found`` maps (class name, file name) to something ``read`` turns into bytes.
    present = {class_name for class_name, _ in found}
    empty = [name for name in CIFAR10_CLASSES if name not in present]
    if empty:
        raise CifarFormatError(
            f"{where} has no images of the classes {', '.join(empty)}; every class folder of "
            f"{', '.join(CIFAR10_CLASSES)} must hold images."
        )
    label_of = {name: label for label, name in enumerate(CIFAR10_CLASSES)}
    keys = sorted(found, key=lambda key: (label_of[key[0]], key[1]))
    images = np.empty((len(keys), *CIFAR_IMAGE_SHAPE), dtype=np.uint8)
    for index, key in enumerate(keys):
        images[index] = _decode(read(found[key]), f"{where}/{key[0]}/{key[1]}")
    labels = np.array([label_of[class_name] for class_name, _ in keys], dtype=np.int64)
    return images, labels


def _decode(data: bytes, name: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            pixels = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except OSError as error:
        raise CifarFormatError(f"{name} is not a readable image ({error}).") from error
    height, width = CIFAR_IMAGE_SHAPE[1:]
    if pixels.shape[:2] != (height, width):
        raise CifarFormatError(
            f"{name} is {pixels.shape[1]} x {pixels.shape[0]} pixels; CIFAR-10 images are "
            f"{width} x {height}."
        )
    return pixels.transpose(2, 0, 1)
