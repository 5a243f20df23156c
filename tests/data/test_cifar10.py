"""CIFAR-10: python batches, image folders and tars, the cache, the offline-copy rule, real data."""

import hashlib
import importlib
import io
import os
import pickle
import tarfile
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from PIL import Image

from gsnn.data import DatasetUnavailableError, cifar10
from gsnn.data.cifar10_python_batches import CifarFormatError
from gsnn.data.mirror import MIRROR_ENV_VAR

# ``gsnn.data.cifar10`` as an attribute is the function; the modules are needed to patch them.
cifar10_module = importlib.import_module("gsnn.data.cifar10")
batches_module = importlib.import_module("gsnn.data.cifar10_python_batches")
download_module = importlib.import_module("gsnn.data.download")

# The official label order, written out here rather than taken from the loader under test.
CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


# --- synthetic copies ---------------------------------------------------------------------------


def random_images(num_images: int, seed: int) -> np.ndarray:
    """uint8 images (N, 3, 32, 32)."""
    return np.random.default_rng(seed).integers(0, 256, (num_images, 3, 32, 32), dtype=np.uint8)


def pickled_batch(images: np.ndarray, labels: list[int]) -> bytes:
    # Like the official files: written by Python 2, so the keys are bytes.
    batch = {b"data": images.reshape(len(images), -1), b"labels": labels, b"batch_label": b"x"}
    return pickle.dumps(batch, protocol=2)


def write_python_batches(cifar_dir: Path, seed: int = 0) -> dict[str, tuple]:
    """Two images per training batch, three test images; returns (images, labels) per split."""
    batches_dir = cifar_dir / "cifar-10-batches-py"
    batches_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = {"train": [f"data_batch_{index}" for index in range(1, 6)], "test": ["test_batch"]}
    written = {}
    for split, names in splits.items():
        all_images, all_labels = [], []
        for name in names:
            images = random_images(3 if split == "test" else 2, int(rng.integers(1 << 30)))
            labels = rng.integers(0, 10, len(images)).tolist()
            (batches_dir / name).write_bytes(pickled_batch(images, labels))
            all_images.append(images)
            all_labels += labels
        written[split] = (np.concatenate(all_images), all_labels)
    return written


def flat_colour(label: int, index: int) -> tuple[int, int, int]:
    """A colour that encodes the class and the image's index within it."""
    return (20 * label + 10, 40 * index + 20, 200 - 15 * label)


def encoded_image(colour, image_format: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format=image_format)
    return buffer.getvalue()


def jpeg_folder_members(per_class: dict[str, int]) -> dict[str, bytes]:
    """``<split>/<class>/NNNN.jpg`` -> one-colour JPEG (exact up to JPEG rounding)."""
    members = {}
    for split, count in per_class.items():
        for label, class_name in enumerate(CLASSES):
            # Written in reverse name order: the loader must sort by name itself.
            for index in reversed(range(count)):
                colour = flat_colour(label, index)
                members[f"{split}/{class_name}/{index:04d}.jpg"] = encoded_image(colour)
    return members


def write_folder(folder: Path, members: dict[str, bytes]) -> None:
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def write_tar(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def assert_flat_colours(images: torch.Tensor, labels: torch.Tensor, count: int) -> None:
    """Images are ordered by class, then by index, and each has its own colour."""
    assert labels.tolist() == [label for label in range(10) for _ in range(count)]
    for position, image in enumerate(images):
        label, index = divmod(position, count)
        expected = torch.tensor(flat_colour(label, index), dtype=torch.float32).view(3, 1, 1)
        # A one-colour JPEG decodes to its colour up to rounding.
        assert (image * 255 - expected).abs().max() <= 3


@pytest.fixture
def offline(monkeypatch):
    """No mirror, and any download attempt fails the test."""
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)

    def fail(url, target, timeout_seconds=None):
        pytest.fail(f"the loader downloaded {url} although the files were available")

    monkeypatch.setattr(download_module, "download_file", fail)


# --- the python batches -------------------------------------------------------------------------


def test_reads_the_python_batches_in_order(tmp_path, offline):
    written = write_python_batches(tmp_path / "cifar10")

    for split, (images, labels) in written.items():
        dataset = cifar10(split, root=tmp_path, normalize=False)
        loaded_images, loaded_labels = dataset.tensors
        assert loaded_images.dtype == torch.float32 and loaded_labels.dtype == torch.int64
        assert loaded_images.shape == (len(labels), 3, 32, 32)
        assert loaded_labels.tolist() == labels
        assert torch.allclose(loaded_images * 255, torch.tensor(images, dtype=torch.float32))
        assert dataset.source == "python-batches"
        assert list(dataset.classes) == CLASSES


def test_normalize_standardises_each_channel(tmp_path, offline):
    images, _ = write_python_batches(tmp_path / "cifar10")["test"]

    normalised = cifar10("test", root=tmp_path).tensors[0]

    unit = torch.tensor(images, dtype=torch.float32) / 255
    for channel in range(3):
        expected = (unit[:, channel] - MEAN[channel]) / STD[channel]
        assert torch.allclose(normalised[:, channel], expected, atol=1e-5)


def test_malformed_batch_is_refused_naming_it(tmp_path, offline):
    write_python_batches(tmp_path / "cifar10")
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(CifarFormatError, match=r"test_batch holds data of uint8 \(2, 100\)"):
        cifar10("test", root=tmp_path)


# --- the image folder ---------------------------------------------------------------------------


def test_reads_an_extracted_folder_by_class_then_name(tmp_path, offline):
    write_folder(tmp_path / "cifar10", jpeg_folder_members({"train": 3, "test": 1}))

    dataset = cifar10("train", root=tmp_path, normalize=False, source="jpeg-folder")

    assert dataset.source == "jpeg-folder"
    assert_flat_colours(*dataset.tensors, count=3)


def test_folder_pixels_keep_rows_columns_and_channels(tmp_path, offline):
    # PNG is lossless, so the channel-first layout can be checked pixel by pixel.
    pixels = random_images(10, seed=3)
    for label, class_name in enumerate(CLASSES):
        path = tmp_path / "cifar10" / "test" / class_name / "0000.png"
        path.parent.mkdir(parents=True)
        Image.fromarray(pixels[label].transpose(1, 2, 0)).save(path)

    images = cifar10("test", root=tmp_path, normalize=False, source="jpeg-folder").tensors[0]

    assert torch.equal((images * 255).round().to(torch.uint8), torch.from_numpy(pixels))


def test_copies_the_tar_from_the_mirror_and_caches_both_splits(tmp_path, monkeypatch, offline):
    mirror = tmp_path / "mirror"
    write_tar(
        mirror / "cifar10" / "cifar10-jpeg-q75.tar", jpeg_folder_members({"train": 2, "test": 1})
    )
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    root = tmp_path / "root"

    first = cifar10("test", root=root, normalize=False)

    assert first.source == "jpeg-folder"
    assert_flat_colours(*first.tensors, count=1)
    assert (root / "cifar10" / "cifar10-jpeg-q75.tar").is_file()
    processed = root / "cifar10" / "processed"
    assert sorted(path.name for path in processed.iterdir()) == [
        "jpeg-folder-test.npz",
        "jpeg-folder-train.npz",
    ]

    # Later loads, of either split, come from the cache without touching the tar.
    def fail(*args):
        pytest.fail("the tar was decoded again although the cache holds it")

    monkeypatch.setattr(cifar10_module, "read_jpeg_tar", fail)
    (root / "cifar10" / "cifar10-jpeg-q75.tar").unlink()
    again = cifar10("test", root=root, normalize=False)
    train = cifar10("train", root=root, normalize=False)
    assert again.source == "jpeg-folder"
    assert torch.equal(again.tensors[0], first.tensors[0])
    assert torch.equal(again.tensors[1], first.tensors[1])
    assert_flat_colours(*train.tensors, count=2)


def test_tar_with_a_leading_folder_is_read(tmp_path, offline):
    members = jpeg_folder_members({"test": 1})
    write_tar(
        tmp_path / "cifar10" / "cifar10-jpeg-q75.tar",
        {f"cifar10/{name}": data for name, data in members.items()},
    )

    dataset = cifar10("test", root=tmp_path, normalize=False, source="jpeg-folder")

    assert_flat_colours(*dataset.tensors, count=1)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ("rename", "class folders airplanes, which are not CIFAR-10 classes"),
        ("drop", "no images of the classes truck"),
        ("resize", "is 16 x 32 pixels"),
    ],
)
def test_folders_that_are_not_cifar10_are_refused(tmp_path, offline, change, complaint):
    members = jpeg_folder_members({"test": 1})
    if change == "rename":
        members["test/airplanes/0000.jpg"] = members.pop("test/airplane/0000.jpg")
    elif change == "drop":
        del members["test/truck/0000.jpg"]
    else:
        buffer = io.BytesIO()
        Image.new("RGB", (16, 32)).save(buffer, format="JPEG")
        members["test/cat/0000.jpg"] = buffer.getvalue()
    write_folder(tmp_path / "cifar10", members)

    with pytest.raises(CifarFormatError, match=complaint):
        cifar10("test", root=tmp_path, source="jpeg-folder")


# --- choosing the source ------------------------------------------------------------------------


def test_auto_prefers_the_official_batches(tmp_path, offline):
    write_python_batches(tmp_path / "cifar10")
    write_folder(tmp_path / "cifar10", jpeg_folder_members({"test": 1}))

    assert cifar10("test", root=tmp_path).source == "python-batches"
    assert cifar10("test", root=tmp_path, source="jpeg-folder").source == "jpeg-folder"


def test_auto_copies_the_batches_from_the_mirror_before_the_tar(tmp_path, monkeypatch, offline):
    mirror = tmp_path / "mirror"
    write_python_batches(mirror / "cifar10")
    write_tar(mirror / "cifar10" / "cifar10-jpeg-q75.tar", jpeg_folder_members({"test": 1}))
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    assert cifar10("test", root=tmp_path / "root").source == "python-batches"
    assert not (tmp_path / "root" / "cifar10" / "cifar10-jpeg-q75.tar").exists()


@pytest.mark.parametrize(("split", "source"), [("valid", "auto"), ("train", "jpeg")])
def test_unknown_split_or_source_is_refused(tmp_path, split, source):
    with pytest.raises(ValueError, match="Unknown CIFAR-10"):
        cifar10(split, root=tmp_path, source=source)


# --- downloads and their failure ----------------------------------------------------------------


def official_archive(cifar_dir: Path) -> tuple[bytes, dict[str, tuple]]:
    written = write_python_batches(cifar_dir)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted((cifar_dir / "cifar-10-batches-py").iterdir()):
            tar.add(path, arcname=f"cifar-10-batches-py/{path.name}")
    return buffer.getvalue(), written


def test_downloads_and_extracts_the_official_archive(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    archive, written = official_archive(tmp_path / "elsewhere")
    requested = []

    def serve(url, target, timeout_seconds=None):
        requested.append(url)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_bytes(archive)

    monkeypatch.setattr(download_module, "download_file", serve)
    monkeypatch.setattr(batches_module, "PYTHON_ARCHIVE_MD5", hashlib.md5(archive).hexdigest())

    dataset = cifar10("train", root=tmp_path / "root", normalize=False)

    assert requested == ["https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"]
    assert dataset.source == "python-batches"
    assert dataset.tensors[1].tolist() == written["train"][1]


def test_archive_with_the_wrong_md5_is_deleted_and_reported(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    archive, _ = official_archive(tmp_path / "elsewhere")

    def serve(url, target, timeout_seconds=None):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_bytes(archive)

    monkeypatch.setattr(download_module, "download_file", serve)

    with pytest.raises(DatasetUnavailableError, match="not the published"):
        cifar10("test", root=tmp_path / "root")
    assert not (tmp_path / "root" / "cifar10" / "cifar-10-python.tar.gz").exists()


def test_failed_download_names_the_batches_the_tar_and_the_fixes(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "cifar10").mkdir(parents=True)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    def download_without_network(url, target, timeout_seconds=None):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download_module, "download_file", download_without_network)

    with pytest.raises(DatasetUnavailableError) as caught:
        cifar10("train", root=tmp_path / "root")

    message = str(caught.value)
    assert caught.value.missing_file_names == [f"data_batch_{index}" for index in range(1, 6)]
    assert str(mirror / "cifar10" / "cifar-10-batches-py") in message
    assert "URLError" in message and "cifar-10-python.tar.gz" in message
    assert "cifar10-jpeg-q75.tar" in message
    assert "laid out like <mirror>/cifar10/cifar-10-batches-py/data_batch_1" in message
    assert "so that gsnn downloads them" in message


def test_failed_download_of_requested_batches_points_to_the_jpeg_copy(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_tar(mirror / "cifar10" / "cifar10-jpeg-q75.tar", jpeg_folder_members({"test": 1}))
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    def download_without_network(url, target, timeout_seconds=None):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download_module, "download_file", download_without_network)

    with pytest.raises(DatasetUnavailableError, match="source='jpeg-folder' reads it"):
        cifar10("test", root=tmp_path / "root", source="python-batches")


def test_jpeg_source_without_the_tar_says_it_has_no_download(tmp_path, monkeypatch, offline):
    with pytest.raises(DatasetUnavailableError) as caught:
        cifar10("test", root=tmp_path, source="jpeg-folder")
    assert caught.value.missing_file_names == ["cifar10-jpeg-q75.tar"]
    assert "no download address" in str(caught.value)


# --- the real JPEG copy through the offline mirror ----------------------------------------------

needs_mirror = pytest.mark.skipif(
    not os.environ.get(MIRROR_ENV_VAR),
    reason=f"{MIRROR_ENV_VAR} is unset: no offline copy of CIFAR-10 to load",
)


@pytest.fixture(scope="session")
def real_cifar10_root(tmp_path_factory):
    """A data root whose cache holds the real JPEG copy, decoded once for the session.

    The first load copies the 93 MB tar and decodes its 60,000 JPEGs (about 10 s on
    one core); every later load reads the cache.
    """
    root = tmp_path_factory.mktemp("cifar10-real")
    start = time.perf_counter()
    cifar10("test", root=root, source="jpeg-folder")
    print(f"first CIFAR-10 load from the JPEG tar: {time.perf_counter() - start:.1f} s")
    return root


@needs_mirror
def test_real_jpeg_copy_has_the_published_sizes(real_cifar10_root):
    train = cifar10("train", root=real_cifar10_root, source="jpeg-folder")
    test = cifar10("test", root=real_cifar10_root, source="jpeg-folder")

    assert train.source == test.source == "jpeg-folder"
    assert train.tensors[0].shape == (50000, 3, 32, 32)
    assert test.tensors[0].shape == (10000, 3, 32, 32)
    assert torch.bincount(train.tensors[1]).tolist() == [5000] * 10
    assert torch.bincount(test.tensors[1]).tolist() == [1000] * 10
    # Standardised with the official statistics, the lossy copy's channel means stay near 0
    # (its standard deviations are slightly below 1, as the datasets README notes).
    assert train.tensors[0].mean(dim=(0, 2, 3)).abs().max() < 0.02


@needs_mirror
def test_real_cached_load_is_fast(real_cifar10_root):
    start = time.perf_counter()
    cifar10("train", root=real_cifar10_root, source="jpeg-folder")
    # Well under 2 s on an idle machine; the bound leaves room for a busy CI runner.
    assert time.perf_counter() - start < 10


class _PlantedCode:
    """Unpickling this runs code: it creates the file ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_a_planted_batch_file_runs_no_code(tmp_path, offline, protocol):
    write_python_batches(tmp_path / "cifar10")
    marker = tmp_path / "code-ran"
    planted = {b"data": _PlantedCode(marker), b"labels": [0]}
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(pickle.dumps(planted, protocol=protocol))
    with pytest.raises(CifarFormatError, match=r"test_batch .*refers to .*never needs"):
        cifar10("test", root=tmp_path)
    assert not marker.exists()


def test_batches_pickled_at_the_newest_protocol_still_load(tmp_path, offline):
    written = write_python_batches(tmp_path / "cifar10")
    batch = tmp_path / "cifar10" / "cifar-10-batches-py" / "test_batch"
    images, labels = written["test"]
    repickled = {"data": images.reshape(len(images), -1), "labels": labels}
    batch.write_bytes(pickle.dumps(repickled, protocol=pickle.HIGHEST_PROTOCOL))
    loaded = cifar10("test", root=tmp_path)
    assert len(loaded) == len(labels)
