"""The reachability check, against listening and closed ports on the loopback address."""

import socket

import pytest

from gsnn.data.reachability import host_is_reachable


def test_reachable_when_a_server_listens():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert host_is_reachable(f"http://127.0.0.1:{port}/data", timeout_seconds=2.0)


def test_unreachable_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.
    assert not host_is_reachable(f"http://127.0.0.1:{port}/data", timeout_seconds=2.0)


@pytest.mark.parametrize("url", ["ftp://example.org/file", "/local/path", "https://"])
def test_rejects_addresses_that_are_not_http(url):
    with pytest.raises(ValueError, match="http or https"):
        host_is_reachable(url)
