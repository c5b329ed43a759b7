"""Keeps a link alive: reopens the port, waits for a sleeping device, restarts sampling.

Faults are reported once per occurrence through ``on_fault``; samples flow through the
sampler's listeners. Nobody has to reload anything after a USB fault or a sleeping Multi.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
import logging

from .client import Mk3Client
from .exceptions import LinkFailedError, LinkIOError, Mk3Error
from .sampler import Sampler
from .status import DeviceStatus

_LOGGER = logging.getLogger(__package__)

# First retry quickly (a glitch), then back off, but never beyond MAX_BACKOFF: once the
# port exists again the link is back within that time.
MIN_BACKOFF = 0.25
MAX_BACKOFF = 5.0

FaultListener = Callable[[Mk3Error], None]
ConnectedHook = Callable[[], Awaitable[None]]


class LinkSupervisor:
    """Runs ``sampler`` on ``client`` forever, healing the link in between."""

    def __init__(
        self,
        client: Mk3Client,
        sampler: Sampler,
        on_fault: FaultListener,
        *,
        on_connected: ConnectedHook | None = None,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:
        self.client = client
        self.sampler = sampler
        self.max_backoff = max_backoff
        self._on_fault = on_fault
        self._on_connected = on_connected
        self._backoff = MIN_BACKOFF
        self._frame_arrived = asyncio.Event()
        self._retry_requested = False
        self._attempted = asyncio.Event()
        sampler.add_listener(self._sampled)
        client.add_frame_listener(self._frame)

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            try:
                try:
                    await self.client.connect()
                finally:
                    self._attempted.set()
                if self._on_connected is not None:
                    await self._on_connected()
                await self.sampler.run()
            except Mk3Error as err:
                self._on_fault(err)
                if isinstance(err, LinkIOError):
                    # A read or write failed: open the port afresh next time.
                    await self.client.close()
                await self._pause()
            except Exception as err:
                # A bug must not end the link for good: report it once, start afresh.
                _LOGGER.exception("%s: link task failed; restarting it", self.client.url)
                self._on_fault(LinkFailedError(f"internal error: {err!r}"))
                await self.client.close()
                await self._pause()

    async def _pause(self) -> None:
        """Wait for the backoff, or less when the device starts talking again."""
        delay, self._backoff = self._backoff, min(self._backoff * 2, self.max_backoff)
        if self._retry_requested:
            self._retry_requested = False
            return
        self._frame_arrived.clear()
        _LOGGER.debug("%s: retrying in at most %.2f s", self.client.url, delay)
        try:
            async with asyncio.timeout(delay):
                await self._frame_arrived.wait()
        except TimeoutError:
            pass

    async def attempt_now(self, wait_at_most: float) -> None:
        """End the current backoff and wait (at most ``wait_at_most`` s) for the next port opening.

        Lets a user's probe see a fresh outcome without opening the port itself, which would
        compete with this loop for the exclusively locked port.
        """
        self._attempted.clear()
        self._retry_requested = True
        self._frame_arrived.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_at_most):
                await self._attempted.wait()

    def _sampled(self, _status: DeviceStatus) -> None:
        self._backoff = MIN_BACKOFF

    def _frame(self, _payload: bytes) -> None:
        # Unsolicited frames (the 1 Hz version frame) mean the device is awake again.
        self._frame_arrived.set()
