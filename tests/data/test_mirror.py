"""The offline-copy rule: what is copied from ``GSNN_DATA_MIRROR``, and what the error says."""

import stat
from pathlib import Path

from gsnn.data.mirror import (
    MIRROR_ENV_VAR,
    DatasetUnavailableError,
    copy_missing_from_mirror,
    mirror_root,
    missing_files,
)

RELATIVE_DIR = "planetoid/Cora/raw"


def write_files(folder: Path, contents: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        (folder / name).write_text(text)


def test_missing_files_lists_absent_names_in_order(tmp_path):
    write_files(tmp_path, {"b": "present"})
    assert missing_files(tmp_path, ["a", "b", "c"]) == ["a", "c"]


def test_mirror_root_is_none_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    assert mirror_root() is None
    monkeypatch.setenv(MIRROR_ENV_VAR, "")
    assert mirror_root() is None


def test_copies_only_missing_files_and_keeps_present_ones(tmp_path, monkeypatch):
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    write_files(mirror / RELATIVE_DIR, {"ind.cora.x": "mirror x", "ind.cora.y": "mirror y"})
    write_files(root / RELATIVE_DIR, {"ind.cora.x": "local x"})
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    copy_missing_from_mirror(root, RELATIVE_DIR, ["ind.cora.x", "ind.cora.y"])

    assert (root / RELATIVE_DIR / "ind.cora.x").read_text() == "local x"
    assert (root / RELATIVE_DIR / "ind.cora.y").read_text() == "mirror y"
    assert sorted(path.name for path in (root / RELATIVE_DIR).iterdir()) == [
        "ind.cora.x",
        "ind.cora.y",
    ]


def test_copies_what_the_mirror_holds_and_leaves_the_rest_missing(tmp_path, monkeypatch):
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    write_files(mirror / RELATIVE_DIR, {"ind.cora.x": "mirror x"})
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    copy_missing_from_mirror(root, RELATIVE_DIR, ["ind.cora.x", "ind.cora.graph"])

    assert missing_files(root / RELATIVE_DIR, ["ind.cora.x", "ind.cora.graph"]) == [
        "ind.cora.graph"
    ]


def test_does_nothing_without_a_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    copy_missing_from_mirror(tmp_path, RELATIVE_DIR, ["ind.cora.x"])
    assert not (tmp_path / RELATIVE_DIR).exists()


def test_copied_file_is_writable_although_the_mirror_is_read_only(tmp_path, monkeypatch):
    mirror, root = tmp_path / "mirror", tmp_path / "root"
    write_files(mirror / RELATIVE_DIR, {"ind.cora.x": "mirror x"})
    (mirror / RELATIVE_DIR / "ind.cora.x").chmod(0o444)
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))

    copy_missing_from_mirror(root, RELATIVE_DIR, ["ind.cora.x"])

    copied_mode = (root / RELATIVE_DIR / "ind.cora.x").stat().st_mode
    assert copied_mode & stat.S_IWUSR


def test_error_names_files_places_and_fixes_with_a_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    monkeypatch.setenv(MIRROR_ENV_VAR, str(mirror))
    missing = ["ind.cora.x", "ind.cora.graph"]

    error = DatasetUnavailableError(tmp_path / "root", RELATIVE_DIR, missing, "no route")

    message = str(error)
    assert error.missing_file_names == missing
    assert error.raw_dir == tmp_path / "root" / RELATIVE_DIR
    assert "ind.cora.x, ind.cora.graph" in message
    assert str(tmp_path / "root" / RELATIVE_DIR) in message
    assert str(mirror / RELATIVE_DIR) in message
    assert "no route" in message
    example = f"<mirror>/{RELATIVE_DIR}/ind.cora.x"
    assert f"set {MIRROR_ENV_VAR} to a folder laid out like {example}" in message
    assert "network" in message


def test_error_says_when_the_mirror_variable_is_unset(tmp_path, monkeypatch):
    monkeypatch.delenv(MIRROR_ENV_VAR, raising=False)
    error = DatasetUnavailableError(tmp_path, RELATIVE_DIR, ["ind.cora.x"], "no route")
    assert f"{MIRROR_ENV_VAR} is unset" in str(error)
    assert isinstance(error, RuntimeError)
