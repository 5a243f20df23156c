"""MNIST: the IDX parser, the loader on synthetic files, the offline-copy rule, the real files."""

import gzip
import importlib
import os
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

from gsnn.data import DatasetUnavailableError, mnist
from gsnn.data.idx_format import IdxFormatError, parse_idx, read_idx
from gsnn.data.mirror import MIRROR_ENV_VAR

# ``gsnn.data.mnist`` as an attribute is the function; the module is needed for its constants.
mnist_module = importlib.import_module("gsnn.data.mnist")
download_module = importlib.import_module("gsnn.data.download")

TRAIN_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]
TEST_FILES = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """The IDX encoding of ``array``, written out field by field as the format describes."""
    header = bytes([0, 0, type_code, array.ndim])
    sizes = b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + sizes + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist_split(folder: Path, names, images, labels, compress: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(names, (images, labels)):
        data = idx_bytes(array)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def synthetic_split(num_images: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num_images, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=num_images).astype(np.uint8)
    return images, labels


@pytest.fixture
def no_download(monkeypatch):
    def fail(url, target, timeout_seconds=None):
        pytest.fail(f"the loader downloaded {url} although the files were available")

    monkeypatch.setattr(download_module, "download_file", fail)


# --- the IDX format -----------------------------------------------------------------------------


def test_parses_uint8_and_big_endian_int32_arrays():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    numbers = np.array([[1, -2], [70000, -70000]], dtype=np.int32)

    parsed_images = parse_idx(idx_bytes(images))
    parsed_numbers = parse_idx(idx_bytes(numbers, type_code=0x0C))

    assert parsed_images.dtype == np.uint8 and np.array_equal(parsed_images, images)
    assert parsed_numbers.dtype.isnative and np.array_equal(parsed_numbers, numbers)
    parsed_images[0, 0, 0] = 7  # the result is a writable copy


def test_reads_gzip_and_plain_files_alike(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "plain").write_bytes(idx_bytes(labels))
    (tmp_path / "packed.gz").write_bytes(gzip.compress(idx_bytes(labels)))
    # Compression is recognised from the contents, not from the name.
    (tmp_path / "packed-without-suffix").write_bytes(gzip.compress(idx_bytes(labels)))

    for name in ("plain", "packed.gz", "packed-without-suffix"):
        assert np.array_equal(read_idx(tmp_path / name), labels)


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x07", "magic number is 0x01000801"),
        (b"\x00\x00\x42\x01" + (1).to_bytes(4, "big") + b"\x07", "magic number is 0x00004201"),
        (b"\x00\x00\x08\x03" + (1).to_bytes(4, "big"), "ends inside their sizes"),
        (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"\x07\x07", r"\(3,\).*holds 2 data"),
        (b"\x00\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x07\x07", "holds 2 data bytes"),
    ],
)
def test_malformed_idx_is_refused_naming_the_file_and_the_fix(data, complaint):
    with pytest.raises(IdxFormatError, match=complaint) as caught:
        parse_idx(data, name="some/file-idx1-ubyte")
    assert "some/file-idx1-ubyte" in str(caught.value)
    assert "delete it" in str(caught.value)


def test_corrupt_gzip_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(100, np.uint8)))[:30])
    with pytest.raises(IdxFormatError, match="labels.gz is not a readable gzip"):
        read_idx(path)


# --- the loader on synthetic files --------------------------------------------------------------


def test_loads_images_and_labels_scaled_to_unit_range(tmp_path, monkeypatch, no_download):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    images, labels = synthetic_split(5)
    write_mnist_split(tmp_path / "mnist" / "raw", TRAIN_FILES, images, labels)

    dataset = mnist("train", root=tmp_path, normalize=False)

    loaded_images, loaded_labels = dataset.tensors
    assert loaded_images.shape == (5, 1, 28, 28) and loaded_images.dtype == torch.float32
    assert loaded_labels.dtype == torch.int64
    assert torch.equal(loaded_labels, torch.tensor(labels.tolist()))
    assert torch.allclose(loaded_images[:, 0] * 255, torch.tensor(images, dtype=torch.float32))
    assert dataset.source == "idx-files"


def test_normalize_standardises_with_the_mnist_statistics(tmp_path, monkeypatch, no_download):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    images, labels = synthetic_split(4)
    write_mnist_split(tmp_path / "mnist" / "raw", TRAIN_FILES, images, labels)

    normalised = mnist("train", root=tmp_path).tensors[0]

    expected = (torch.tensor(images, dtype=torch.float32) / 255 - 0.1307) / 0.3081
    assert torch.allclose(normalised[:, 0], expected, atol=1e-6)


def test_test_split_reads_the_t10k_files_uncompressed(tmp_path, monkeypatch, no_download):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    train_images, train_labels = synthetic_split(6, seed=1)
    test_images, test_labels = synthetic_split(3, seed=2)
    raw_dir = tmp_path / "mnist" / "raw"
    write_mnist_split(raw_dir, TRAIN_FILES, train_images, train_labels)
    write_mnist_split(raw_dir, TEST_FILES, test_images, test_labels, compress=False)

    loaded_images, loaded_labels = mnist("test", root=tmp_path, normalize=False).tensors

    assert len(loaded_images) == 3
    assert torch.equal(loaded_labels, torch.tensor(test_labels.tolist()))


@pytest.mark.parametrize(
    ("images", "labels", "complaint"),
    [
        (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "3 images but .* 2 labels"),
        (np.zeros((2, 27, 28), np.uint8), np.zeros(2, np.uint8), r"uint8 \(N, 28, 28\)"),
        (np.zeros((2, 28, 28), np.uint8), np.array([1, 10], np.uint8), "the label 10"),
        (np.zeros((2, 28, 28), np.uint8), np.zeros((2, 1), np.uint8), r"uint8 \(N,\)"),
    ],
)
def test_files_that_are_not_mnist_are_refused(
    tmp_path, monkeypatch, no_download, images, labels, complaint
):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    write_mnist_split(tmp_path / "mnist" / "raw", TRAIN_FILES, images, labels)
    with pytest.raises(IdxFormatError, match=complaint):
        mnist("train", root=tmp_path)


def test_unknown_split_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        mnist("validation", root=tmp_path)


# --- the offline-copy rule and downloads --------------------------------------------------------


def test_copies_the_split_from_the_mirror(tmp_path, monkeypatch, no_download):
    mirror = tmp_path / "mirror"
    images, labels = synthetic_split(4)
    write_mnist_split(mirror / "mnist" / "raw", TEST_FILES, images, labels)
    write_mnist_split(mirror / "mnist" / "raw", TRAIN_FILES, *synthetic_split(5))
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    loaded_labels = mnist("test", root=tmp_path / "root").tensors[1]

    assert torch.equal(loaded_labels, torch.tensor(labels.tolist()))
    copied = sorted(path.name for path in (tmp_path / "root" / "mnist" / "raw").iterdir())
    assert copied == [f"{name}.gz" for name in TEST_FILES]


def test_downloads_missing_files_as_gzip(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    images, labels = synthetic_split(3)
    served = {
        f"{mnist_module.MNIST_URLS[0]}{name}.gz": gzip.compress(idx_bytes(array))
        for name, array in zip(TRAIN_FILES, (images, labels))
    }

    def serve(url, target, timeout_seconds=None):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_bytes(served[url])

    monkeypatch.setattr(download_module, "download_file", serve)

    loaded_labels = mnist("train", root=tmp_path).tensors[1]

    assert torch.equal(loaded_labels, torch.tensor(labels.tolist()))


def test_failed_download_names_the_missing_files_and_the_fixes(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "mnist" / "raw").mkdir(parents=True)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    attempts = []

    def download_without_network(url, target, timeout_seconds=None):
        attempts.append(url)
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(download_module, "download_file", download_without_network)

    with pytest.raises(DatasetUnavailableError) as caught:
        mnist("train", root=tmp_path / "root")

    message = str(caught.value)
    assert caught.value.missing_file_names == [f"{name}.gz" for name in TRAIN_FILES]
    assert str(tmp_path / "root" / "mnist" / "raw") in message
    assert str(mirror / "mnist" / "raw") in message
    assert "ossci-datasets" in message and "URLError" in message
    assert f"set {MIRROR_ENV_VAR} to a folder laid out like <mirror>/mnist/raw/" in message
    assert "so that gsnn downloads them" in message
    # Every mirror address was tried for both files, and nothing partial was left behind.
    assert len(attempts) == 2 * len(mnist_module.MNIST_URLS)
    assert not list((tmp_path / "root" / "mnist" / "raw").glob("*"))


# --- the real files through the offline copy ----------------------------------------------------

needs_mirror = pytest.mark.skipif(
    not os.environ.get(MIRROR_ENV_VAR),
    reason=f"{MIRROR_ENV_VAR} is unset: no offline copy of MNIST to load",
)


@needs_mirror
def test_loads_the_real_files_from_the_mirror(tmp_path):
    raw_mirror = Path(os.environ[MIRROR_ENV_VAR]) / "mnist" / "raw"
    # Read independently of the loader: an IDX label file has an 8-byte header, an image
    # file a 16-byte one.
    test_labels_raw = gzip.decompress((raw_mirror / "t10k-labels-idx1-ubyte.gz").read_bytes())
    test_images_raw = gzip.decompress((raw_mirror / "t10k-images-idx3-ubyte.gz").read_bytes())

    train_images, train_labels = mnist("train", root=tmp_path).tensors
    test_images, test_labels = mnist("test", root=tmp_path, normalize=False).tensors

    assert train_images.shape == (60000, 1, 28, 28) and len(train_labels) == 60000
    assert test_images.shape == (10000, 1, 28, 28) and len(test_labels) == 10000
    assert set(train_labels.unique().tolist()) == set(range(10))
    assert set(test_labels.unique().tolist()) == set(range(10))
    assert int(test_labels[0]) == test_labels_raw[8]
    first_image = torch.tensor(list(test_images_raw[16 : 16 + 28 * 28]), dtype=torch.float32)
    assert torch.allclose(test_images[0].flatten() * 255, first_image)
    # Standardised with the usual statistics, the training images have mean 0 and std 1.
    assert abs(float(train_images.mean())) < 0.01
    assert abs(float(train_images.std()) - 1) < 0.01
