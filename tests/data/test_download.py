"""Downloads: written atomically, and every address tried in order (local file:// addresses)."""

from urllib.error import URLError

import pytest

from gsnn.data.download import download_file, download_from_first_working


def test_download_writes_the_file_and_creates_its_folder(tmp_path):
    source = tmp_path / "served" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(b"\x00\x01payload")
    target = tmp_path / "root" / "raw" / "data.bin"

    download_file(source.as_uri(), target)

    assert target.read_bytes() == b"\x00\x01payload"
    assert [path.name for path in target.parent.iterdir()] == ["data.bin"]


def test_failed_download_leaves_nothing_behind(tmp_path):
    target = tmp_path / "raw" / "data.bin"
    with pytest.raises(URLError):
        download_file((tmp_path / "absent.bin").as_uri(), target)
    assert list(target.parent.iterdir()) == []


def test_first_working_address_is_used_and_failures_are_reported(tmp_path):
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "data.bin").write_bytes(b"second")
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "data.bin").write_bytes(b"third")
    base_urls = [f"{(tmp_path / name).as_uri()}/" for name in ("first", "second", "third")]
    target = tmp_path / "root" / "data.bin"

    failures = download_from_first_working(base_urls, "data.bin", target)

    assert target.read_bytes() == b"second"
    assert len(failures) == 1 and failures[0].startswith(f"{base_urls[0]}data.bin raised URLError")
