"""asyncio protocol that turns the byte stream into frame payloads, nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import logging

from .frame import FrameDecoder, encode_frame

_LOGGER = logging.getLogger(__package__)

# Frames are sent back to back; a partial frame that has not grown for this long
# started with a garbage length byte (2400 baud = 4.2 ms per byte).
STALL_TIMEOUT = 0.2


@dataclass
class LinkStats:
    """Counters a maintainer wants in a bug report; bytes feed the benchmark."""

    requests: int = 0
    timeouts: int = 0
    invalid_replies: int = 0
    unsolicited: int = 0  # frames no request was waiting for (the ~1 Hz version frame too)
    unknown_frames: int = 0  # of those, frames of a kind no parser takes (VE.Bus echoes, noise)
    bytes_sent: int = 0
    bytes_received: int = 0


class Mk3Protocol(asyncio.Protocol):
    """Frames outgoing payloads and decodes incoming bytes into payloads."""

    def __init__(
        self,
        frame_received: Callable[[bytes], None],
        connection_lost: Callable[[Exception | None], None],
        stats: LinkStats,
    ) -> None:
        self._frame_received = frame_received
        self._stats = stats
        self._connection_lost = connection_lost
        self._transport: asyncio.WriteTransport | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0
        self.decoder = FrameDecoder()

    @property
    def last_data_at(self) -> float:
        """Loop time (monotonic) of the last bytes received, valid frame or not."""
        return self._last_data

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._stats.bytes_received += len(data)
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("<< %s", data.hex(" "))
        self._last_data = asyncio.get_running_loop().time()
        self._deliver(self.decoder.feed(data))
        self._arm_stall_timer()

    def send(self, payload: bytes) -> None:
        """Write one frame; raises OSError/RuntimeError when the port is gone."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("port is closed")
        frame = encode_frame(payload)
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(">> %s", frame.hex(" "))
        self._transport.write(frame)
        self._stats.bytes_sent += len(frame)

    def close(self) -> None:
        """Close the transport; ``connection_lost`` follows."""
        self._cancel_stall_timer()
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_stall_timer()
        self._transport = None
        self._connection_lost(exc)

    def _deliver(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self._frame_received(payload)

    def _arm_stall_timer(self) -> None:
        # Bytes arrive one by one at 2400 baud: keep a running timer instead of
        # replacing it per byte; it checks on expiry whether the buffer really stalled.
        if not self.decoder.pending:
            self._cancel_stall_timer()
        elif self._stall_timer is None:
            loop = asyncio.get_running_loop()
            self._stall_timer = loop.call_later(STALL_TIMEOUT, self._stalled)

    def _stalled(self) -> None:
        self._stall_timer = None
        loop = asyncio.get_running_loop()
        quiet_for = loop.time() - self._last_data
        if self.decoder.pending and quiet_for < STALL_TIMEOUT:
            self._stall_timer = loop.call_later(STALL_TIMEOUT - quiet_for, self._stalled)
            return
        self._deliver(self.decoder.discard_stalled())
        self._arm_stall_timer()

    def _cancel_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
