"""The link to an MK3: the port, one exchange at a time, replies matched to their request.

What to send and how to parse the reply lives in ``requests``; this module only opens and
watches the port, serialises exchanges and matches each reply to the request waiting for it.
An exchange is one request, or a batch of requests sent in one write whose replies are read
in one go (``request_batch``): the event loop then wakes once for several replies.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, field
import logging
import time
from typing import Any, TypeVar

import serialx

from . import requests
from .const import (
    BAUDRATE,
    Led,
)
from .exceptions import (
    LinkIOError,
    Mk3Error,
    NoAnswerError,
    NotConnectedError,
    PortInaccessibleError,
)
from .exchange import MISSING, Exchange, expire
from .frame import DecoderStats
from .messages import (
    ConfigInfo,
    LedStatus,
    VersionInfo,
    is_known_frame,
    is_mk2,
    parse_version,
    remote_switch_state,
)
from .requests import Request
from .timing import ReplyTimes
from .uart import LinkStats, Mk3Protocol

_LOGGER = logging.getLogger(__package__)
T = TypeVar("T")

# No frame at all for this long means the device sleeps or the cable is out.
IDLE_TIMEOUT = 5.0
EVENT_HISTORY = 50
DEFAULT_RETRIES = 1
# Unanswered attempts in a row, with frames still arriving, before we suspect long-frame mode.
WINMON_SUSPICION = 3
# No retry once the link has been silent this long: the device is not answering at all,
# and a retry would only delay noticing it.
RETRY_WHILE_SILENT_BELOW = 0.6
# A batch waits its slowest request's timeout plus this much per further request (each reply
# of a fast request takes 40-80 ms on the wire).
BATCH_SLACK_PER_REQUEST = 0.1

FrameListener = Callable[[bytes], None]
LinkListener = Callable[["LinkEvent"], None]


@dataclass(frozen=True)
class LinkEvent:
    """Something that happened to the link, kept for diagnostics."""

    kind: str  # connected, disconnected, lost, timeout, idle, active, invalid_reply
    detail: str = ""
    at: float = field(default_factory=time.time)


class Mk3Link:
    """The port of one MK3 interface at a device path or serialx URL: requests and replies."""

    def __init__(self, url: str, *, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.url = url
        self.idle_timeout = idle_timeout
        self.retries = DEFAULT_RETRIES
        self.version: VersionInfo | None = None
        self.stats = LinkStats()
        self.decoder_stats = DecoderStats()
        self.events: deque[LinkEvent] = deque(maxlen=EVENT_HISTORY)
        self.last_frame_at: float | None = None
        self.connections = 0  # ports opened so far: tells a reconnect from a resumed link
        self.last_config: ConfigInfo | None = None
        self.reply_times = ReplyTimes()
        self._protocol: Mk3Protocol | None = None
        self._closed: asyncio.Event | None = None
        self._lock = asyncio.Lock()
        self._pending: Exchange | None = None
        self._unanswered = 0
        self._versions_since_first_unanswered = 0
        self._winmon_recovery_sent = False  # until a short command is answered again
        self._garbage_at_first_unanswered = 0
        self._asking_since = 0.0
        self._idle = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._frame_listeners: list[FrameListener] = []
        self._link_listeners: list[LinkListener] = []
        # Newest LED status an interface appended to a frame (length byte top bit), and when.
        self.appended_leds: LedStatus | None = None
        self.appended_leds_at: float | None = None
        # Which decoder's LED count was last taken over (a new connection brings a new decoder).
        self._led_stats: DecoderStats | None = None
        self._led_frames_seen = 0

    # ---- lifecycle -------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._protocol is not None

    def _last_byte_at(self) -> float:
        last = self.last_frame_at or 0.0
        return max(last, self._protocol.last_data_at) if self._protocol is not None else last

    def silent_for(self) -> float:
        """Seconds the device has been asked without sending a byte of any kind.

        Any byte counts, corrupted or not: a noisy line still carries the device's replies, a
        sleeping device (or a cut cable) sends nothing at all. Time spent not asking (a pause
        between cycles) does not count: only silence while a request is waiting does.
        """
        return time.monotonic() - max(self._last_byte_at(), self._asking_since)

    @property
    def idle(self) -> bool:
        """True when no frame arrived for ``idle_timeout`` seconds."""
        return self._idle

    async def connect(self) -> None:
        """Open the port; raises ``PortInaccessibleError``."""
        if self._protocol is not None:
            return
        loop = asyncio.get_running_loop()
        protocol = Mk3Protocol(self._frame_received, self._connection_lost, self.stats)
        opening = asyncio.ensure_future(
            serialx.create_serial_connection(loop, lambda: protocol, self.url, baudrate=BAUDRATE)
        )
        try:
            await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The open goes on in serialx; whatever it opens is closed, never leaked.
            opening.add_done_callback(_close_opened)
            raise
        except (OSError, serialx.SerialException, ValueError) as err:
            raise PortInaccessibleError(f"cannot open {self.url}: {err}") from err
        self._protocol = protocol
        self.connections += 1
        self.reply_times.clear()
        self.decoder_stats = protocol.decoder.stats
        self._closed = asyncio.Event()
        self._unanswered = 0
        self._idle = False
        self.last_frame_at = time.monotonic()
        self._schedule_idle_check(self.idle_timeout)
        self._record(LinkEvent("connected", self.url))

    async def close(self) -> None:
        """Close the port and wait until it is released."""
        protocol, closed = self._protocol, self._closed
        if protocol is None or closed is None:
            return
        protocol.close()
        await closed.wait()

    def _connection_lost(self, exc: Exception | None) -> None:
        self._protocol = None
        self._cancel_idle_check()
        if self._closed is not None:
            self._closed.set()
        error = LinkIOError(f"port closed: {exc}" if exc else "port closed")
        self._fail_pending(error)
        self._record(LinkEvent("lost" if exc else "disconnected", str(exc or "")))

    # ---- listeners ---------------------------------------------------------

    def add_frame_listener(self, listener: FrameListener) -> Callable[[], None]:
        """Receive payloads of frames no request was waiting for (e.g. the 1 Hz version)."""
        self._frame_listeners.append(listener)
        return lambda: self._frame_listeners.remove(listener)

    def add_link_listener(self, listener: LinkListener) -> Callable[[], None]:
        """Be told about link events: connected, lost, idle, active, timeout."""
        self._link_listeners.append(listener)
        return lambda: self._link_listeners.remove(listener)

    def _record(self, event: LinkEvent) -> None:
        self.events.append(event)
        for listener in list(self._link_listeners):
            listener(event)

    # ---- request/reply matching -------------------------------------------

    async def request(self, request: Request[T]) -> T:
        """Send one request and return its parsed reply; one at a time.

        A reply lost to line noise is asked for once more; every command here sets
        absolute values, so sending it twice is harmless. No retry while the device
        is known to be silent: that would only double the wait.
        """
        async with self._lock:
            try:
                return await self._exchange_with_retries(request)
            except NoAnswerError:
                if not self._winmon_suspected():
                    raise
                await self._recover_from_winmon()
                try:
                    return await self._exchange(request)
                except NoAnswerError:
                    self._record(LinkEvent("winmon_recovery_unconfirmed"))
                    raise

    async def send_only(self, payload: bytes) -> None:
        """Send a command the device never answers (``F 6``), in turn with the requests."""
        async with self._lock:
            protocol = self._protocol
            if protocol is None:
                raise NotConnectedError(f"{self.url} is not open")
            self.stats.requests += 1
            try:
                protocol.send(payload)
            except (OSError, RuntimeError) as err:
                raise LinkIOError(f"write to {self.url} failed: {err}") from err

    async def _exchange_with_retries(self, request: Request[T]) -> T:
        for _attempt in range(self.retries):
            if self._idle or self.silent_for() >= RETRY_WHILE_SILENT_BELOW:
                break
            try:
                return await self._exchange(request)
            except NoAnswerError:
                continue
        return await self._exchange(request)

    def _winmon_suspected(self) -> bool:
        """Short commands keep going unanswered although the interface sends its version frames.

        Not on a noisy line: there the decoder throws bytes away while replies go missing, and
        the recovery frame would be sent for nothing.
        """
        return (
            self._unanswered >= WINMON_SUSPICION
            and self._versions_since_first_unanswered > 0
            and self._protocol is not None
            and self._garbage() == self._garbage_at_first_unanswered
        )

    def _garbage(self) -> int:
        stats = self.decoder_stats
        return stats.bad_checksums + stats.skipped_bytes

    async def _recover_from_winmon(self) -> None:
        # VictronConnect can leave the MK3 in its long-frame mode, deaf to short commands.
        _LOGGER.warning(
            "%s: the MK3 ignores short commands but is sending frames (probably left in "
            "VictronConnect's long-frame mode); sending the short-mode init frame",
            self.url,
        )
        # Carry the last known mode and limit: firmware that ignored the frame's do-not-forward
        # flag must not see either change.
        config = self.last_config
        state = remote_switch_state(config.switch_register) if config is not None else None
        limit = config.current_limit if config is not None else None
        self._winmon_recovery_sent = True
        with contextlib.suppress(NoAnswerError):
            await self._exchange(requests.winmon_recovery(state, limit))

    async def request_batch(self, batch: Sequence[Request[Any]], *, read_after: float = 0.0) -> list[Any]:
        """Send ``batch`` in one write and read the replies in one go, not before ``read_after``
        (``time.monotonic()``) unless ``hurry()`` is called.

        Returns, per request, its parsed reply or the ``Mk3Error`` it ended with (no retry:
        the caller asks again for what is missing). The replies must tell their requests
        apart (different commands, W requests with different letters). A failed port raises.
        """
        async with self._lock:
            return await self._exchange_many(batch, read_after)

    def hurry(self) -> None:
        """Read what has arrived now instead of at the exchange's planned time (a user waits)."""
        if self._protocol is not None:
            self._protocol.read_now()

    async def _exchange(self, request: Request[T]) -> T:
        result = (await self._exchange_many((request,)))[0]
        if isinstance(result, Mk3Error):
            raise result
        return result  # type: ignore[no-any-return]

    async def _exchange_many(self, batch: Sequence[Request[Any]], read_after: float = 0.0) -> list[Any]:
        protocol = self._protocol
        if protocol is None:
            raise NotConnectedError(f"{self.url} is not open")
        loop = asyncio.get_running_loop()
        exchange = self._pending = Exchange(batch, loop.create_future())
        self.stats.requests += len(batch)
        if self._asking_since < self._last_byte_at():
            self._asking_since = time.monotonic()  # the first request the device owes an answer
        held = max(0.0, read_after - loop.time())
        slack = BATCH_SLACK_PER_REQUEST * (len(batch) - 1)
        # Not the hold on top: a device that has not answered by then is not going to, and an
        # interface left idle for a second starts sending its version frames (which would hide
        # its silence from ``silent_for``).
        timeout = max(max(request.timeout for request in batch) + slack, held + BATCH_SLACK_PER_REQUEST)
        # A plain timer that ends the wait: cheaper than asyncio.timeout on every exchange.
        expiry = loop.call_later(timeout, expire, exchange.all_in)
        key = batch[0].payload if len(batch) == 1 else b"".join(request.payload for request in batch)
        try:
            try:
                protocol.send(*(request.payload for request in batch))
            except (OSError, RuntimeError) as err:
                raise LinkIOError(f"write to {self.url} failed: {err}") from err
            sent_at, reads = loop.time(), self.stats.reads
            predicted = self.reply_times.predict(key)
            wait = max(predicted or 0.0, held) if predicted is not None or held else None
            deferred = wait is not None and wait < timeout and protocol.expect_frame(wait)
            with contextlib.suppress(TimeoutError):
                await exchange.all_in
                # Complete at the one read the deferral waited for: the prediction was long
                # enough (it only says "no later than"); otherwise the time is a measurement.
                # A read held past the prediction says nothing about it.
                complete_when_read = deferred and self.stats.reads == reads + 1
                if not (complete_when_read and wait != predicted):
                    self.reply_times.learn(key, loop.time() - sent_at, complete_when_read=complete_when_read)
        finally:
            expiry.cancel()
            self._pending = None
        self._account(exchange, timeout)
        return exchange.results

    def _account(self, exchange: Exchange, timeout: float) -> None:
        """Timeouts of one exchange, and the streak of unanswered ones (long-frame mode)."""
        requests_, results = exchange.requests, exchange.results
        missing = [index for index, result in enumerate(results) if result is MISSING]
        for index in missing:
            results[index] = NoAnswerError(f"no answer to {requests_[index].name} within {timeout:g} s")
        if missing:
            # Still owed: the device has been silent since its last byte, whatever is asked next.
            self._asking_since = max(self._asking_since, self._last_byte_at())
            self.stats.timeouts += len(missing)
            self._record(LinkEvent("timeout", ", ".join(requests_[index].name for index in missing)))
        if any(
            not isinstance(result, Mk3Error) and not request.sent_unasked
            for request, result in zip(requests_, results, strict=True)
        ):
            self._unanswered = 0
            if self._winmon_recovery_sent:
                # Recovered means short commands are answered again, whenever that shows: the
                # init frame's own reply, or the next one, may be lost to a busy line.
                self._winmon_recovery_sent = False
                self._record(LinkEvent("winmon_recovered"))
        elif len(missing) == len(results):
            if self._unanswered == 0:
                self._versions_since_first_unanswered = 0
                self._garbage_at_first_unanswered = self._garbage()
            self._unanswered += 1

    def _frame_received(self, payload: bytes) -> None:
        self.last_frame_at = time.monotonic()
        if self._idle:
            self._idle = False
            self._record(LinkEvent("active"))
        stats = self.decoder_stats
        if stats.appended_leds is not None and (
            stats is not self._led_stats or stats.led_frames != self._led_frames_seen
        ):
            self._led_stats, self._led_frames_seen = stats, stats.led_frames
            on, blink = stats.appended_leds
            self.appended_leds = LedStatus(Led(on), Led(blink))
            self.appended_leds_at = self.last_frame_at
        exchange = self._pending
        if exchange is not None and exchange.take(payload):
            if exchange.unsupported_answer:
                # A definite answer: the device hears short commands.
                self._unanswered = 0
            if exchange.invalid is not None:
                self.stats.invalid_replies += 1
                self._record(LinkEvent("invalid_reply", exchange.invalid))
            return
        self._unsolicited(payload)

    def _unsolicited(self, payload: bytes) -> None:
        self.stats.unsolicited += 1
        if not is_known_frame(payload):
            self.stats.unknown_frames += 1
        if is_mk2(payload, ord("V")):
            self._versions_since_first_unanswered += 1
            try:
                self.version = parse_version(payload)
            except ValueError:
                self.stats.invalid_replies += 1
        for listener in list(self._frame_listeners):
            listener(payload)

    def _fail_pending(self, error: Mk3Error) -> None:
        if self._pending is not None and not self._pending.all_in.done():
            self._pending.all_in.set_exception(error)

    # ---- idle detection ----------------------------------------------------

    def _schedule_idle_check(self, delay: float) -> None:
        self._idle_timer = asyncio.get_running_loop().call_later(delay, self._check_idle)

    def _cancel_idle_check(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def _check_idle(self) -> None:
        silent_for = time.monotonic() - (self.last_frame_at or 0.0)
        if silent_for >= self.idle_timeout and not self._idle:
            self._idle = True
            self._record(LinkEvent("idle", f"no frame for {silent_for:.1f} s"))
        self._schedule_idle_check(max(self.idle_timeout - silent_for, 0.0) or self.idle_timeout)


def _close_opened(opening: asyncio.Future[Any]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result()[0].close()
