"""The queue of user commands that jump the sampling plan: each waits for its confirmation."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .exceptions import Mk3Error

if TYPE_CHECKING:
    from .client import Mk3Client
    from .status import DeviceStatus

Write = Callable[["Mk3Client"], Awaitable[Any]]


@dataclass
class Command:
    """A write and the future its caller awaits (the status read back after it)."""

    write: Write
    done: asyncio.Future[DeviceStatus]
    # False for writes whose effect is not in the settings (an ESS keep-alive): no config read.
    read_back: bool = True

    def fail(self, err: Mk3Error) -> None:
        if not self.done.done():
            self.done.set_exception(err)

    def confirm(self, status: DeviceStatus) -> None:
        if not self.done.done():
            self.done.set_result(status)


class CommandQueue:
    """Commands in arrival order; the sampler takes them before every read."""

    def __init__(self) -> None:
        self._queue: deque[Command] = deque()
        self._arrived = asyncio.Event()

    def __bool__(self) -> bool:
        return bool(self._queue)

    def submit(self, write: Write, *, read_back: bool = True) -> asyncio.Future[DeviceStatus]:
        done: asyncio.Future[DeviceStatus] = asyncio.get_running_loop().create_future()
        self._queue.append(Command(write, done, read_back))
        self._arrived.set()
        return done

    def pop(self) -> Command:
        return self._queue.popleft()

    async def wait(self, seconds: float) -> None:
        """Wait up to ``seconds``, less when a command arrives (a too-fast cycle's rest)."""
        self._arrived.clear()
        if self._queue:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._arrived.wait()

    def fail_all(self, err: Mk3Error) -> None:
        while self._queue:
            self._queue.popleft().fail(err)
