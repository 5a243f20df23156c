"""The offline-copy rule: copy missing raw files from the folder named by ``GSNN_DATA_MIRROR``.

A mirror is laid out like the data root itself, so the raw file
``<root>/<relative_dir>/<file>`` is looked for at ``<mirror>/<relative_dir>/<file>``
(for example ``<mirror>/planetoid/Cora/raw/ind.cora.x``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

MIRROR_ENV_VAR = "GSNN_DATA_MIRROR"


class DatasetUnavailableError(RuntimeError):
    """A data set's raw files are neither in the data root, nor in the mirror, nor downloadable.

    Args:
        root (Path): the data root the loader was given.
        relative_dir (str): folder of the raw files inside the root and the mirror,
            e.g. ``"planetoid/PubMed/raw"``.
        missing_file_names (Sequence[str]): raw files that could not be found.
        download_failure (str): why the ecosystem's downloader could not fetch them.
        downloader (str): who downloads the files where a network exists, named in the
            suggested fixes. (default: ``"PyTorch Geometric"``)

    Attributes:
        missing_file_names (list[str]): the raw files that are missing.
        raw_dir (Path): where the loader expected them.
    """

    def __init__(
        self,
        root: Path,
        relative_dir: str,
        missing_file_names: Sequence[str],
        download_failure: str,
        downloader: str = "PyTorch Geometric",
    ) -> None:
        self.missing_file_names = list(missing_file_names)
        self.raw_dir = Path(root) / relative_dir
        message = _unavailable_message(
            self.raw_dir, relative_dir, self.missing_file_names, download_failure, downloader
        )
        super().__init__(message)


def mirror_root() -> Path | None:
    """The folder named by ``GSNN_DATA_MIRROR``, or ``None`` when the variable is unset or empty."""
    value = os.environ.get(MIRROR_ENV_VAR, "")
    return Path(value) if value else None


def missing_files(folder: Path, file_names: Sequence[str]) -> list[str]:
    """The names among ``file_names`` that are not files in ``folder``, in the given order."""
    return [name for name in file_names if not (Path(folder) / name).is_file()]


def copy_missing_from_mirror(root: Path, relative_dir: str, file_names: Sequence[str]) -> None:
    """Copy the raw files missing under ``root/relative_dir`` from the mirror, where it holds them.

    Files already present are never overwritten. Nothing happens when no file is
    missing, when ``GSNN_DATA_MIRROR`` is unset, or for files the mirror lacks: the
    caller decides what to do about files that are still missing afterwards.

    Args:
        root (Path): the data root.
        relative_dir (str): folder of the raw files inside the root and the mirror.
        file_names (Sequence[str]): names of the raw files the data set needs.
    """
    target_dir = Path(root) / relative_dir
    absent = missing_files(target_dir, file_names)
    mirror = mirror_root()
    if not absent or mirror is None:
        return
    source_dir = mirror / relative_dir
    for name in absent:
        if (source_dir / name).is_file():
            _copy_file(source_dir / name, target_dir / name)


def _copy_file(source: Path, target: Path) -> None:
    # Copy to a temporary name first, so an interrupted copy never leaves a
    # truncated file that a later run would take for a complete one. Only the
    # contents are copied: mirrors are typically read-only.
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def _unavailable_message(
    raw_dir: Path,
    relative_dir: str,
    missing_file_names: list[str],
    download_failure: str,
    downloader: str,
) -> str:
    mirror = mirror_root()
    if mirror is None:
        mirror_searched = f"{MIRROR_ENV_VAR} is unset, so no offline copy was searched."
    else:
        mirror_searched = (
            f"The offline copy {MIRROR_ENV_VAR}={mirror} does not hold them "
            f"in {mirror / relative_dir}."
        )
    example_path = f"<mirror>/{relative_dir}/{missing_file_names[0]}"
    return (
        f"Missing raw files {', '.join(missing_file_names)} in {raw_dir}. "
        f"{mirror_searched} "
        f"The download failed: {download_failure}. "
        f"To fix this, do one of: set {MIRROR_ENV_VAR} to a folder laid out like {example_path}; "
        f"put the files into {raw_dir}; or run once with network access so that "
        f"{downloader} downloads them."
    )
