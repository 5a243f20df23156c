"""Plain HTTP(S) downloads of raw data files, written atomically."""

from __future__ import annotations

import os
import shutil
import urllib.request
from collections.abc import Sequence
from pathlib import Path

DOWNLOAD_TIMEOUT_SECONDS = 30.0


def download_file(
    url: str, target: str | Path, timeout_seconds: float = DOWNLOAD_TIMEOUT_SECONDS
) -> None:
    """Download ``url`` to ``target``, creating its folder.

    The bytes go to ``<target>.partial`` first and are renamed at the end, so an
    interrupted download never leaves a truncated file that looks complete.

    Args:
        url (str): the address.
        target (str or Path): where to write the file.
        timeout_seconds (float): how long to wait for the connection and for each read.

    Raises:
        OSError: if the download fails (``urllib.error.URLError`` and socket timeouts
            are ``OSError`` subclasses).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            with open(partial, "wb") as file:
                shutil.copyfileobj(response, file)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def download_from_first_working(
    base_urls: Sequence[str], file_name: str, target: str | Path
) -> list[str]:
    """Download ``file_name`` from the first of ``base_urls`` that serves it.

    Args:
        base_urls (Sequence[str]): folder addresses ending in ``/``, tried in order.
        file_name (str): the file's name below each of them.
        target (str or Path): where to write the file.

    Returns:
        list[str]: one line per failed attempt, ``"<url> raised <error>"``; empty when
        the first address worked. The file exists afterwards unless every attempt failed.
    """
    failures = []
    for base_url in base_urls:
        url = base_url + file_name
        try:
            download_file(url, target)
            return failures
        except OSError as error:
            failures.append(f"{url} raised {error!r}")
    return failures
