"""Keeps the 2400-baud link busy with what is needed, and nothing else.

Fast-changing values (LEDs, DC, AC of the phases that exist, power variables) are
read every cycle; the slow config frame and the interface flags on a cadence.
The next request goes out the moment a reply completes. A command (S, H) jumps
the queue and its confirming read follows at once.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, replace
import functools
import time
from typing import Any, TypeVar

from .client import Mk3Client
from .const import RamVar
from .exceptions import Mk3Error, NotConnectedError
from .status import POWER_VARS, DeviceStatus, StatusReader

# The config frame costs the device > 750 ms; limits and switches rarely change.
SLOW_INTERVAL = 10.0
# A real MK3 needs about 0.4 s per cycle at 2400 baud, so this floor never delays it; it
# only keeps a link with no speed limit (an unpaced simulator) from spinning the CPU.
MIN_CYCLE = 0.25

_T = TypeVar("_T")
SampleListener = Callable[[DeviceStatus], None]
Write = Callable[[Mk3Client], Awaitable[Any]]


@dataclass
class SamplerStats:
    """Cycle accounting for diagnostics and the benchmark."""

    cycles: int = 0
    last_cycle_seconds: float = 0.0
    commands: int = 0


@dataclass
class _Command:
    write: Write
    done: asyncio.Future[DeviceStatus]


class Sampler:
    """Runs sampling cycles on a connected client and keeps the newest ``DeviceStatus``."""

    def __init__(
        self,
        client: Mk3Client,
        reader: StatusReader | None = None,
        *,
        slow_interval: float = SLOW_INTERVAL,
        min_cycle: float = MIN_CYCLE,
    ) -> None:
        self.client = client
        self.reader = reader or StatusReader(client)
        self.slow_interval = slow_interval
        self.min_cycle = min_cycle
        self.latest: DeviceStatus | None = None
        self.stats = SamplerStats()
        self._listeners: list[SampleListener] = []
        self._commands: deque[_Command] = deque()
        self._command_arrived = asyncio.Event()
        self._running = False
        self._slow_due = 0.0

    @property
    def running(self) -> bool:
        """True while ``run()`` is sampling."""
        return self._running

    def add_listener(self, listener: SampleListener) -> Callable[[], None]:
        """Called after every cycle and after every confirmed command."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def request_slow_read(self) -> None:
        """Read the config frame and flags in the next cycle (e.g. after a reconnect)."""
        self._slow_due = 0.0

    async def run(self) -> None:
        """Sample until cancelled; a link fault ends the run with its ``Mk3Error``."""
        self._running = True
        try:
            # The interface only sends its version unasked while idle, which sampling never is.
            await self.client.get_version()
            status = await self.reader.read()
            self.latest = replace(
                status,
                interface_flags=await self.client.get_interface_flags(),
                firmware_version=await self.client.get_firmware_version(),
            )
            await self._read_charger()
            self._slow_due = time.monotonic() + self.slow_interval
            self._publish(self._current())
            while True:
                started = time.monotonic()
                await self._cycle()
                if (spare := self.min_cycle - (time.monotonic() - started)) > 0:
                    await self._idle(spare)
        except Mk3Error as err:
            self._fail_commands(err)
            raise
        finally:
            self._running = False
            self._fail_commands(NotConnectedError("sampling stopped"))

    async def _idle(self, seconds: float) -> None:
        """Wait out the rest of a too-fast cycle, but let a command in at once."""
        self._command_arrived.clear()
        if self._commands:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._command_arrived.wait()

    async def command(self, write: Write) -> DeviceStatus:
        """Run ``write`` before the next sample, then confirm it by reading the device back."""
        if not self._running:
            raise NotConnectedError(f"{self.client.url} is not being sampled")
        done: asyncio.Future[DeviceStatus] = asyncio.get_running_loop().create_future()
        self._commands.append(_Command(write, done))
        self._command_arrived.set()
        return await done

    async def _cycle(self) -> None:
        started = time.monotonic()
        client = self.client
        await self._step(leds=client.get_leds)
        await self._step(dc=client.get_dc)
        for phase in self.reader.phases or [1]:
            ac = await self._after_commands(functools.partial(client.get_ac, phase))
            self._update(ac={**self._current().ac, phase: ac})
        powers = await self._after_commands(lambda: client.read_ram(POWER_VARS))
        self._update(ram={**self._current().ram, **powers})
        if time.monotonic() >= self._slow_due:
            await self._read_slow()
        self.stats.cycles += 1
        self.stats.last_cycle_seconds = time.monotonic() - started
        self._publish(self._current())

    async def _step(self, **fetch: Callable[[], Awaitable[Any]]) -> None:
        ((name, read),) = fetch.items()
        self._update(**{name: await self._after_commands(read)})

    async def _after_commands(self, read: Callable[[], Awaitable[_T]]) -> _T:
        await self._run_commands()
        return await read()

    async def _read_slow(self) -> None:
        self._slow_due = time.monotonic() + self.slow_interval
        await self._read_settings()
        await self._read_charger()

    async def _read_charger(self) -> None:
        """Charge stage and state of charge: they change over minutes."""
        stage = (await self.client.get_device_state()).charge_stage
        soc = await self.client.read_ram([RamVar.STATE_OF_CHARGE])
        self._update(charge_stage=stage, ram={**self._current().ram, **soc})

    async def _read_settings(self) -> None:
        """What a command can change: the config frame and the interface flags."""
        client = self.client
        self._update(config=await client.get_config(), interface_flags=await client.get_interface_flags())

    async def _run_commands(self) -> None:
        while self._commands:
            command = self._commands.popleft()
            self.stats.commands += 1
            try:
                await command.write(self.client)
                await self._read_settings()
            except Mk3Error as err:
                if not command.done.done():
                    command.done.set_exception(err)
                if not isinstance(err, NotConnectedError) and self.client.connected:
                    continue
                raise
            status = self._current()
            if not command.done.done():
                command.done.set_result(status)
            self._publish(status)

    def _current(self) -> DeviceStatus:
        assert self.latest is not None, "run() publishes a full status before cycling"
        return self.latest

    def _update(self, **changes: Any) -> None:
        self.latest = replace(self._current(), taken_at=time.monotonic(), **changes)

    def _publish(self, status: DeviceStatus) -> None:
        self.latest = status
        for listener in list(self._listeners):
            listener(status)

    def _fail_commands(self, err: Mk3Error) -> None:
        while self._commands:
            command = self._commands.popleft()
            if not command.done.done():
                command.done.set_exception(err)
