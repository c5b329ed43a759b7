"""Library tests talk over real ptys and loopback TCP."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _loopback_sockets(socket_enabled: None) -> None:
    """The HA test plugin blocks sockets; the simulator's TCP transport needs loopback."""
