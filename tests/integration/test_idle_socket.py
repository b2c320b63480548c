"""The check of an idle kept connection (adapters/idle_socket.py), on real sockets: silent
while the peer says nothing, and told apart once it speaks, closes or is closed here; at any
descriptor number, where select() refused those from 1024 up."""

from __future__ import annotations

import os
import resource
import socket
from collections.abc import Iterator

import pytest

from adapters.idle_socket import has_spoken

HIGH = 1500  # past select()'s FD_SETSIZE (1024)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, peer = socket.socketpair()
    yield ours, peer
    ours.close()
    peer.close()


@pytest.fixture
def high_pair(pair) -> Iterator[tuple[int, socket.socket]]:
    """Our end of the pair, as descriptor HIGH (the soft limit of open files raised to reach
    it, as a server's often is)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard > HIGH, "this machine cannot open so many"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HIGH + 1), hard))
    ours, peer = pair
    os.dup2(ours.fileno(), HIGH)
    try:
        yield HIGH, peer
    finally:
        os.close(HIGH)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_idle_connection_whose_peer_said_nothing_is_silent(pair):
    ours, _peer = pair
    assert has_spoken(ours.fileno()) is False


def test_a_peer_that_sends_its_closing_words_has_spoken(pair):
    ours, peer = pair
    peer.sendall(b"421 4.4.2 Timeout, closing connection\r\n")
    assert has_spoken(ours.fileno()) is True


def test_a_peer_that_closed_has_spoken(pair):
    ours, peer = pair
    peer.close()
    assert has_spoken(ours.fileno()) is True


def test_a_socket_closed_here_counts_as_spoken(pair):
    # Its number, freed, may be another socket's by now: the closed object's -1 is what a
    # caller holds.
    ours, _peer = pair
    ours.close()
    assert ours.fileno() == -1
    assert has_spoken(ours.fileno()) is True


def test_a_descriptor_past_1024_is_checked_like_any_other(high_pair):
    number, peer = high_pair
    assert has_spoken(number) is False
    peer.close()
    assert has_spoken(number) is True
