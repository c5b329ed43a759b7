"""asyncio protocol that turns the byte stream into frame payloads, nothing more.

Waking the event loop is what a sampling cycle spends most of its CPU on (measured: ~120 µs
of CPU per wake-up on a small VM, more than parsing a frame). At 2400 baud a USB-serial adapter
hands over a byte or a few at a time: one byte per read with a short latency timer, ~4 bytes
every 16 ms with an FTDI chip's default one. Once the length byte of a frame is in, the protocol
knows how long the rest takes on the wire, so it stops reading until then plus the port's
delivery lag and takes the rest in one read: about two wake-ups per frame instead of one per
chunk. The lag is learned: a read that still misses part of the frame raises it, every read that
gets the whole frame lowers it a little (byte-wise ports settle near zero, FTDI ports near their
latency timer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import logging

from .const import BAUDRATE
from .frame import FrameDecoder, encode_frame

_LOGGER = logging.getLogger(__package__)

# Frames are sent back to back; a partial frame that has not grown for this long
# started with a garbage length byte (2400 baud = 4.2 ms per byte).
STALL_TIMEOUT = 0.2
# Start bit, 8 data bits, stop bit.
BYTE_TIME = 10 / BAUDRATE
# A partial frame still this many bytes short is read again only once they can have arrived.
DEFER_MIN_BYTES = 2
# Waiting a little past the computed end catches the last byte in the same read.
DEFER_SLACK = 0.0005
# Bounds of the learned delivery lag: an FTDI latency timer is 16 ms by default (up to 255 ms
# can be set; such a port is read as its chunks come, past LAG_MAX).
LAG_MAX = 0.04
# A read that still missed part of the frame raises the lag by this much.
LAG_STEP = BYTE_TIME
# A read that got the whole frame lowers the lag by this factor: it drifts down to the smallest
# lag that works, paying a rare extra read to find it again.
LAG_DECAY = 0.95


@dataclass
class LinkStats:
    """Counters a maintainer wants in a bug report; bytes feed the benchmark."""

    requests: int = 0
    timeouts: int = 0
    invalid_replies: int = 0
    unsolicited: int = 0  # frames no request was waiting for (the ~1 Hz version frame too)
    unknown_frames: int = 0  # of those, frames of a kind no parser takes (VE.Bus echoes, noise)
    bytes_sent: int = 0
    writes: int = 0  # requests / writes shows how many went together (pipeline.py)
    bytes_received: int = 0
    reads: int = 0  # chunks the port delivered: bytes_received / reads shows how batched it is


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
        # The same transport when it can pause reading (every asyncio/serialx one can).
        self._reader: asyncio.ReadTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stall_timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0
        # Set while reading is paused until the rest of a frame can have arrived.
        self._resume_timer: asyncio.TimerHandle | None = None
        # False when the transport cannot pause reading (then every chunk is read as it comes).
        self._can_defer = True
        self._resumed = False  # the next read is the one a deferral waited for
        self._awaiting_reply = False  # that deferral waited for whole replies (expect_frame)
        # How much later than its wire time the port hands over a frame's last byte (learned).
        self.delivery_lag = DEFER_SLACK
        self.decoder = FrameDecoder()

    @property
    def last_data_at(self) -> float:
        """Loop time (monotonic) of the last bytes received, valid frame or not."""
        return self._last_data

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._reader = transport if isinstance(transport, asyncio.ReadTransport) else None
        self._can_defer = self._reader is not None

    def data_received(self, data: bytes) -> None:
        stats = self._stats
        stats.bytes_received += len(data)
        stats.reads += 1
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug("<< %s", data.hex(" "))
        loop = self._loop or asyncio.get_running_loop()
        self._last_data = now = loop.time()
        decoder = self.decoder
        completed = False
        for payload in decoder.feed(data):
            completed = True
            self._frame_received(payload)
        if self._resumed:
            self._resumed = False
            if self._awaiting_reply:
                self._awaiting_reply = False  # the link judges that prediction itself
            else:
                self._learn_lag(completed)
        if not decoder.pending:
            if self._stall_timer is not None:
                self._cancel_stall_timer()
            return
        if self._stall_timer is None:
            # A running timer instead of one per byte: on expiry it checks whether the buffer
            # really stalled.
            self._stall_timer = loop.call_at(now + STALL_TIMEOUT, self._stalled)
        missing = decoder.missing
        if missing >= DEFER_MIN_BYTES and self._can_defer and self._resume_timer is None:
            self._defer_reading(loop, now, missing)

    def expect_frame(self, within: float) -> bool:
        """Whole replies are due in about ``within`` seconds: read nothing until then.

        One wake-up for all of them instead of one per chunk. False when reading goes on as
        usual (the port cannot pause, or a frame is half in).
        """
        loop = self._loop
        if loop is None or not self._can_defer or self._resume_timer is not None or self.decoder.pending:
            return False
        self._awaiting_reply = self._pause_until(loop, loop.time() + within)
        return self._awaiting_reply

    def read_now(self) -> None:
        """End a wait for whole replies early: read what is there now."""
        if self._awaiting_reply and self._resume_timer is not None:
            self._resume_timer.cancel()
            self._resume_reading()

    def _learn_lag(self, completed: bool) -> None:
        """A deferred read that got no whole frame waited too little: wait longer next time."""
        if completed:
            self.delivery_lag = max(DEFER_SLACK, self.delivery_lag * LAG_DECAY)
        else:
            self.delivery_lag = min(LAG_MAX, self.delivery_lag + LAG_STEP)

    def _defer_reading(self, loop: asyncio.AbstractEventLoop, now: float, missing: int) -> None:
        # Never past half the stall timeout: a garbage length byte promising a long frame
        # must not hold back the frames behind it longer than the stall check would.
        delay = min(missing * BYTE_TIME + self.delivery_lag, STALL_TIMEOUT / 2)
        self._pause_until(loop, now + delay)

    def _pause_until(self, loop: asyncio.AbstractEventLoop, when: float) -> bool:
        """Read nothing until ``when`` (loop time); False if the port cannot pause."""
        transport = self._reader
        if transport is None or transport.is_closing():
            return False
        try:
            transport.pause_reading()
        except (NotImplementedError, RuntimeError):
            self._can_defer = False
            return False
        self._resume_timer = loop.call_at(when, self._resume_reading)
        return True

    def _resume_reading(self) -> None:
        self._resume_timer = None
        transport = self._reader
        if transport is not None and not transport.is_closing():
            self._resumed = True
            transport.resume_reading()

    def _cancel_deferral(self) -> None:
        self._awaiting_reply = False
        if self._resume_timer is not None:
            self._resume_timer.cancel()
            self._resume_timer = None

    def send(self, *payloads: bytes) -> None:
        """Write frames in one write; raises OSError/RuntimeError when the port is gone."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionError("port is closed")
        data = b"".join(encode_frame(payload) for payload in payloads)
        if _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(">> %s", data.hex(" "))
        transport.write(data)
        self._stats.writes += 1
        self._stats.bytes_sent += len(data)

    def close(self) -> None:
        """Close the transport; ``connection_lost`` follows."""
        self._cancel_stall_timer()
        self._cancel_deferral()
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_stall_timer()
        self._cancel_deferral()
        self._transport = self._reader = None
        self._connection_lost(exc)

    def _deliver(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self._frame_received(payload)

    def _stalled(self) -> None:
        self._stall_timer = None
        loop = asyncio.get_running_loop()
        quiet_for = loop.time() - self._last_data
        if self.decoder.pending and (quiet_for < STALL_TIMEOUT or self._resume_timer is not None):
            # Still growing, or bytes may be waiting unread: look again later.
            self._stall_timer = loop.call_later(max(STALL_TIMEOUT - quiet_for, BYTE_TIME), self._stalled)
            return
        self._deliver(self.decoder.discard_stalled())
        if self.decoder.pending:
            self._stall_timer = loop.call_later(STALL_TIMEOUT, self._stalled)

    def _cancel_stall_timer(self) -> None:
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
