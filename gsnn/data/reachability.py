"""A quick check that a download host answers, made before handing over to a downloader.

PyG's downloader (fsspec over aiohttp) waits up to five minutes per request when
packets are silently dropped, and a data set needs several requests; a short
connection attempt first turns that into a prompt, explicit failure.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

REACHABILITY_TIMEOUT_SECONDS = 10.0
DEFAULT_PORTS = {"http": 80, "https": 443}


def host_is_reachable(url: str, timeout_seconds: float = REACHABILITY_TIMEOUT_SECONDS) -> bool:
    """Whether a TCP connection to the host serving ``url`` opens within ``timeout_seconds``.

    Args:
        url (str): an ``http`` or ``https`` address; only its host and port are used.
        timeout_seconds (float): how long to wait for the connection.

    Returns:
        bool: ``True`` if the connection opened, ``False`` if the host name did not
        resolve, the connection was refused, or it timed out.

    Raises:
        ValueError: if ``url`` is not an ``http`` or ``https`` address with a host.
    """
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"Expected an http or https address with a host name, got {url!r}.")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_seconds):
            return True
    except OSError:
        return False
