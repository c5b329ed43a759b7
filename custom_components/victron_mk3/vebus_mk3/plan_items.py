"""What every item of the sampling plan goes through, and the reading they build.

An item is one request in the plan. Commands waiting in the queue go first; a part every device
has (``core``) and a part a device may lack (``optional``) fail differently: the first can end the
run when the device has gone silent, the second only marks its capability. A part that carries
states publishes a change at once. The newest ``DeviceStatus`` is kept here and handed to the
listeners. ``sampler.py`` decides which items a cycle has and when.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
import logging
import time
from typing import Any, TypeGuard, TypeVar

from .capabilities import Capabilities, Capability, Feature, Support
from .client import Mk3Client
from .commands import CommandQueue
from .exceptions import Mk3Error, NoAnswerError, NotConnectedError, UnsupportedError
from .status import CONFIG, FLAGS, DeviceStatus, evolve

_LOGGER = logging.getLogger(__package__)
_T = TypeVar("_T")

# A core request failed and not a byte arrived for this long: asleep or the cable cut. A noisy
# line keeps delivering (corrupted) bytes, so noise does not pass it; a silent device passes it
# within three request timeouts, so a sleep is noticed in about 1.5 s.
LINK_DOWN_AFTER = 1.2
# A line that showed no corruption for this long passes a changed state from one frame (a line
# that corrupts at all does so far more often: at 1 % of bytes, every few seconds).
CLEAN_LINE_AFTER = 30.0
# A command's read-back is asked this often before the command counts as unconfirmed.
READ_BACK_ATTEMPTS = 3

SampleListener = Callable[[DeviceStatus], None]


@dataclass
class SamplerStats:
    """Cycle accounting for diagnostics and the benchmark."""

    cycles: int = 0
    last_cycle_seconds: float = 0.0
    commands: int = 0
    lost_replies: int = 0  # parts skipped for one cycle because their reply was lost
    confirm_reads: int = 0  # immediate re-reads that confirmed (or refuted) a changed state
    listener_errors: int = 0


class LinkDownError(NoAnswerError):
    """Nothing received for ``LINK_DOWN_AFTER`` seconds while the core went unanswered."""


class PlanItems:
    """Runs single plan items on a connected client; keeps and publishes the newest reading."""

    def __init__(
        self,
        client: Mk3Client,
        *,
        link_down_after: float = LINK_DOWN_AFTER,
        clean_line_after: float = CLEAN_LINE_AFTER,
    ) -> None:
        self.client = client
        self.link_down_after = link_down_after
        self.clean_line_after = clean_line_after
        self.capabilities = Capabilities()
        self.latest: DeviceStatus | None = None
        self.stats = SamplerStats()
        self._listeners: list[SampleListener] = []
        self._commands = CommandQueue()
        self._published_once = False
        self._core_silent = False
        self._slow_after_next_pass = False
        self._garbage_seen = 0
        self._garbage_at = 0.0  # when corruption was last seen (the start of each run counts)

    def add_listener(self, listener: SampleListener) -> Callable[[], None]:
        """Called after every cycle and every confirmed command; exceptions are contained."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # ---- one item ----------------------------------------------------------------

    def _all_supported(
        self, values: dict[int, float | None] | None, feature: Feature
    ) -> TypeGuard[dict[int, float | None]]:
        """RAM values read; variables the device lacks (scale 0, 0x90) refuse the feature."""
        if values is None:
            return False
        if all(value is None for value in values.values()):
            self.capabilities[feature].refused(f"RAM variables {sorted(values)} unsupported")
            return False
        return True

    def _due(self, feature: Feature) -> bool:
        return self.capabilities[feature].due(time.monotonic())

    async def _core(self, read: Callable[[], Awaitable[_T]]) -> _T | None:
        """A part every device has: a lost reply skips it, a silent link ends the run."""
        await self._run_commands()
        try:
            value = await read()
        except UnsupportedError as err:
            _LOGGER.debug("%s: core request refused: %s", self.client.url, err)
            self.stats.lost_replies += 1
            return None
        except NoAnswerError as err:
            silent_for = self.client.silent_for()
            if silent_for >= self.link_down_after:
                raise LinkDownError(f"{err}; nothing received for {silent_for:.1f} s") from err
            self.stats.lost_replies += 1
            # A part every device answers went unanswered, its retry too: until a core part
            # answers again, skip the optional ones, so that a silent device is noticed without
            # their timeouts first (an interface whose unit stopped answering still sends its
            # version frames in a long wait, which keeps ``silent_for`` short).
            self._core_silent = True
            return None
        self._core_silent = False
        return value

    async def _optional(self, feature: Feature, read: Callable[[], Awaitable[_T]]) -> _T | None:
        """A part the device may lack: failures mark the capability, never the link."""
        return await self.ask(self.capabilities[feature], feature, read)

    async def ask(self, capability: Capability, feature: str, read: Callable[[], Awaitable[_T]]) -> _T | None:
        """An optional request in the plan (commands first); failures mark ``capability`` only."""
        await self._run_commands()
        if self._core_silent:
            return None  # not a verdict on the feature: the device said nothing at all
        try:
            value = await read()
        except UnsupportedError as err:
            capability.refused(str(err))
            return None
        except NoAnswerError as err:
            if capability.unanswered(str(err)):
                _LOGGER.debug("%s: %s does not answer: %s", self.client.url, feature, err)
            self.stats.lost_replies += 1
            return None
        if capability.support is not Support.SUPPORTED:
            _LOGGER.debug("%s: %s answers", self.client.url, feature)
        capability.answered()
        return value

    async def _read_state(
        self,
        part: str,
        read: Callable[[], Awaitable[_T]],
        changes_of: Callable[[_T], dict[str, Any]],
        key: Callable[[DeviceStatus], object],
    ) -> None:
        """Read a part that carries states; a changed state is published at once.

        Automations react to states (mains lost, overload): one frame that slipped through
        the 8-bit checksum must not flip one. The checksum catches every frame with one bad
        byte, so only a line that shows corruption can pass a bad frame: there a changed
        state is read again at once and kept only if the second reply agrees (one exchange
        per change); on a line clean for ``clean_line_after`` seconds one frame is enough.
        """
        value = await self._core(read)
        if value is None:
            return
        changes = changes_of(value)
        current = self._current()
        previous, candidate = key(current), key(evolve(current, **changes))
        if part not in current.read_at or previous is None or candidate == previous:
            self._update(part, **changes)
            return
        if not self._line_is_clean():
            self.stats.confirm_reads += 1
            again = await self._core(read)
            if again is None:
                return
            changes = changes_of(again)
            if key(evolve(self._current(), **changes)) != candidate:
                return  # the two replies disagree: keep the old state, the next cycle asks again
        self._update(part, **changes)
        # Published now, not at the end of the cycle.
        self._publish(self._current())
        if part != CONFIG:
            # The panel's mode and limits live in the slow config frame: a state change is the
            # moment they are most likely to have changed too. Read after one more pass over
            # the fast parts, whose states (LEDs) changed with it and would otherwise wait for
            # the config frame's second.
            self._slow_after_next_pass = True

    def _line_is_clean(self) -> bool:
        """Nothing corrupted (bad checksum, skipped bytes, implausible reply) for a while."""
        now = time.monotonic()
        stats = self.client.decoder_stats
        garbage = stats.bad_checksums + stats.skipped_bytes + self.client.stats.invalid_replies
        if garbage != self._garbage_seen:
            self._garbage_seen, self._garbage_at = garbage, now
        return now - self._garbage_at >= self.clean_line_after

    # ---- commands ------------------------------------------------------------------

    async def _run_commands(self) -> None:
        if self._commands:
            # Replies fetched ahead predate the command: the rest of the cycle reads afresh.
            self.client.forget_prefetched()
        while self._commands:
            command = self._commands.pop()
            self.stats.commands += 1
            try:
                await command.write(self.client)
                if command.read_back:
                    await self._read_back()
            except Mk3Error as err:
                command.fail(err)
                if not isinstance(err, NotConnectedError) and self.client.connected:
                    continue
                raise
            status = self._current()
            command.confirm(status)
            if command.read_back:
                self._publish(status)

    async def _read_back(self) -> None:
        """What a command can change: the config frame and the interface flags."""
        client = self.client
        for attempt in range(READ_BACK_ATTEMPTS):
            try:
                self._update(CONFIG, config=await client.get_config())
                break
            except NoAnswerError:
                if attempt == READ_BACK_ATTEMPTS - 1:
                    raise
        if self.capabilities[Feature.INTERFACE_FLAGS].support is not Support.UNSUPPORTED:
            with contextlib.suppress(NoAnswerError, UnsupportedError):
                self._update(FLAGS, interface_flags=await client.get_interface_flags())

    # ---- state -----------------------------------------------------------------------

    def _current(self) -> DeviceStatus:
        if self.latest is None:
            self.latest = DeviceStatus()
        return self.latest

    def _update(self, part: str, **changes: Any) -> None:
        now = time.monotonic()
        current = self._current()
        # evolve, not dataclasses.replace: this runs several times per cycle (CPU on a Pi).
        self.latest = evolve(current, taken_at=now, read_at={**current.read_at, part: now}, **changes)

    def _publish_if_complete(self) -> None:
        status = self._current()
        if not self._published_once:
            # The first sample waits for the core: a device shows up complete or not at all.
            if status.leds is None or status.dc is None or 1 not in status.ac or status.config is None:
                return
            self._published_once = True
        self._publish(status)

    def _publish(self, status: DeviceStatus) -> None:
        if not self._published_once:
            return
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                # A listener's bug must not end sampling for everyone else.
                self.stats.listener_errors += 1
                _LOGGER.exception("%s: sample listener failed", self.client.url)
