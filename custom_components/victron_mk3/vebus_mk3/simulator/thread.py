"""Run a ``Simulator`` on its own event loop in a daemon thread.

Home Assistant tests use this so the simulated device never shares (or blocks, or is blocked by)
the loop under test. Everything that touches the simulator goes through ``call``/``call_async``,
which run on the simulator's loop and hand the result back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
import inspect
import threading
from types import TracebackType
from typing import Any, Self, TypeVar

from .model import MultiplusModel
from .simulator import Faults, Simulator

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0


class SimulatorThread:
    """A ``Simulator`` with its own loop in a daemon thread; arguments as for ``Simulator``."""

    def __init__(
        self,
        model: MultiplusModel | None = None,
        link: str | None = None,
        tcp_port: int | None = None,
        *,
        pty: bool | None = None,
        paced: bool = False,
        seed: int | None = 1,
        time_scale: float = 1.0,
        sleep_delay: float | None = None,
        version_interval: float | None = None,
        faults: Faults | None = None,
        profile: str | None = None,
        usb_latency: float | None = None,
    ) -> None:
        options: dict[str, Any] = {}
        if sleep_delay is not None:
            options["sleep_delay"] = sleep_delay
        if version_interval is not None:
            options["version_interval"] = version_interval
        self.sim = Simulator(
            model,
            link,
            tcp_port,
            pty=pty,
            paced=paced,
            seed=seed,
            time_scale=time_scale,
            faults=faults,
            profile=profile,
            usb_latency=usb_latency,
            **options,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def model(self) -> MultiplusModel:
        """The model; prefer changing it through ``call`` so changes land between requests."""
        return self.sim.model

    @property
    def url(self) -> str:
        return self.sim.url

    @property
    def tcp_url(self) -> str | None:
        return self.sim.tcp_url

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start the thread and the simulator; returns once the ports exist."""
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run, args=(loop,), name="mk3-simulator", daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.sim.start(), loop).result(timeout)
        except BaseException:
            self._shutdown(timeout)
            raise

    def stop(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Stop the simulator, its loop and the thread."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.sim.stop(), self._loop).result(timeout)
        finally:
            self._shutdown(timeout)

    def call(self, fn: Callable[[Simulator], T], timeout: float = DEFAULT_TIMEOUT) -> T:
        """Run ``fn(sim)`` on the simulator's loop and return its result (awaited if awaitable)."""

        async def run() -> T:
            result = fn(self.sim)
            if inspect.isawaitable(result):
                awaited: T = await result
                return awaited
            return result

        return self._submit(run(), timeout)

    def call_async(
        self, fn: Callable[[Simulator], Coroutine[Any, Any, T]], timeout: float = DEFAULT_TIMEOUT
    ) -> T:
        """Run ``await fn(sim)`` on the simulator's loop and return its result."""

        async def run() -> T:
            return await fn(self.sim)

        return self._submit(run(), timeout)

    def unplug(self) -> None:
        self.call_async(lambda sim: sim.unplug())

    def replug(self) -> None:
        self.call_async(lambda sim: sim.replug())

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _submit(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._loop is None or not self._loop.is_running():
            coro.close()
            raise RuntimeError("simulator thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _shutdown(self, timeout: float) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)
