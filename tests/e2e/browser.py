"""A real Home Assistant, the simulator and headless Chromium, shared by a module's tests.

Starting all three takes half a minute, so a module starts them once. They live on an event
loop in a thread of their own: the Home Assistant test plugin checks after every test that the
test's loop has no tasks left and no new threads, and the browser's websocket reader is a task
that must outlive tests. Tests are plain functions that hand coroutines to that loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
import concurrent.futures
import contextlib
from dataclasses import dataclass
import json
from pathlib import Path
import threading
import time
from typing import Any, TypeVar

import aiohttp
import pytest_socket

from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread
from scripts.lib.cdp import Browser, CdpError, Page
from scripts.lib.hassdev import (
    DASHBOARD_URL_PATH,
    HomeAssistantClient,
    HomeAssistantProcess,
    free_port,
    prepare_config_dir,
    start_and_connect,
    wait_for,
    wait_for_device,
)

T = TypeVar("T")

CALL_TIMEOUT = 240.0  # one step of a test, however slow the machine
WAIT = 30.0  # for the card to show what the device does
LOAD_WAIT = 120.0  # for a page load

# Finds the card in the page, whatever shadow roots Home Assistant wraps it in: the one on show
# (the dashboard may keep a copy made before the card's script ran, never upgraded or hidden).
FIND_CARD_JS = """
(() => {
  const walk = (node) => {
    if (!node) return null;
    const shown = node.shadowRoot && node.getClientRects().length;
    if (node.localName === 'victron-mk3-panel' && shown) return node;
    for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.children]) {
      const found = walk(child);
      if (found) return found;
    }
    return null;
  };
  return walk(document.documentElement);
})()
"""

# What Home Assistant's error cards say (a card whose element is missing or threw).
ERROR_CARDS_JS = """
(() => {
  const found = [];
  const walk = (node) => {
    if (!node) return;
    if (node.localName === 'hui-error-card') found.push(JSON.stringify(node._config || null));
    for (const child of [...(node.shadowRoot ? [node.shadowRoot] : []), ...node.children]) walk(child);
  };
  walk(document.documentElement);
  return found;
})()
"""

# A point a person would click: the middle of ``el``, once nothing covers it.
CLICK_POINT_JS = """
((el) => {
  el.scrollIntoView({block: 'center'});
  const r = el.getBoundingClientRect();
  const x = r.x + r.width / 2, y = r.y + r.height / 2;
  let hit = document.elementFromPoint(x, y);
  while (hit && hit.shadowRoot) {
    const inner = hit.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === hit) break;
    hit = inner;
  }
  return el.contains(hit) ? [x, y] : null;
})
"""


def card_script(expression: str) -> str:
    """``expression`` with ``card`` (the element) and ``root`` (its shadow root) defined."""
    prelude = f"const card = {FIND_CARD_JS}; const root = card && card.shadowRoot;"
    return f"(() => {{ {prelude} return ({expression}); }})()"


class LoopThread:
    """An event loop in a daemon thread; ``run`` waits for a coroutine's result."""

    def __init__(self, workers: int = 4) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="e2e-browser-loop", daemon=True)
        self._thread.start()
        # Every worker thread started now: the plugin's check sees no new thread in a test.
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        barrier = threading.Barrier(workers + 1)
        for _ in range(workers):
            executor.submit(barrier.wait, 10)
        barrier.wait(10)
        self.loop.set_default_executor(executor)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@dataclass
class CardSession:
    """Everything a card test needs; ``js`` evaluates an expression that may use ``card``."""

    runner: LoopThread
    sim: SimulatorThread
    process: HomeAssistantProcess
    api: HomeAssistantClient
    browser: Browser
    page: Page
    device_id: str
    entities: dict[str, str]
    tmp: Path

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        return self.runner.run(coro, timeout)

    def js(self, expression: str) -> Any:
        """The value of ``expression`` (see ``card_script``)."""
        return self.run(self.page.evaluate(card_script(expression)))

    def wait_js(self, expression: str, what: str, within: float = WAIT) -> Any:
        """Until ``expression`` is truthy (errors while the page loads count as not yet)."""

        last: list[object] = [None]

        async def check() -> Any:
            try:
                last[0] = await self.page.evaluate(card_script(expression))
            except CdpError as err:
                last[0] = err
            return None if isinstance(last[0], CdpError) else last[0]

        try:
            return self.run(wait_for(check, within, what, interval=0.25))
        except TimeoutError as err:
            raise TimeoutError(f"{err}; the last answer was {last[0]!r}") from None

    def wait_value(self, expression: str, want: Any, what: str, within: float = WAIT) -> None:
        """Until ``expression`` evaluates to ``want`` (compared in Python: key order is free)."""
        deadline = time.monotonic() + within
        while (value := self._try_js(expression)) != want:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: the card shows {value!r}, expected {want!r}")
            time.sleep(0.25)

    def _try_js(self, expression: str) -> Any:
        try:
            return self.js(expression)
        except CdpError as err:
            return err

    def open_dashboard(self, width: int = 1000, height: int = 1100, dark: bool = False) -> None:
        """The develop dashboard at this size and colour scheme, once the card shows the device."""
        self.run(self._open(width, height, dark))
        try:
            # The first load compiles the whole frontend: slow on a busy machine.
            self.wait_js(
                "!!(root && root.querySelector('[data-mode]'))"
                " && !document.getElementById('ha-launch-screen')",
                "the card to render",
                LOAD_WAIT,
            )
        except TimeoutError as err:
            shot = self.tmp / "failed-card.png"
            self.run(self.page.screenshot(shot))
            page = self.run(self.page.text())[-300:]
            page = f"{page}; error cards: {self._try_js(ERROR_CARDS_JS)}"
            raise AssertionError(f"{err}; the page: {shot}; its text ends: {page}") from None

    async def _open(self, width: int, height: int, dark: bool) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
        await self.page.send("Emulation.setDeviceMetricsOverride", metrics)
        scheme = {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}
        await self.page.send("Emulation.setEmulatedMedia", {"features": [scheme]})
        await self.page.goto(f"{self.api.url}/{DASHBOARD_URL_PATH}/panel")

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) on the middle of an element of the card.

        Once nothing covers that point (the launch screen fading out, a toast): until then a
        person's click would land elsewhere too.
        """
        element = f"root.querySelector({json.dumps(selector)})"
        box = self.wait_js(f"{CLICK_POINT_JS.strip()}({element})", f"{selector} to be clickable")
        self.run(self._click(*box))

    async def _click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            await self.page.send(
                "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
            )

    def press(self, selector: str, key: str, code: str, key_code: int) -> None:
        """Focus an element of the card and press a key as a keyboard does."""
        self.js(f"root.querySelector({json.dumps(selector)}).focus()")
        for kind in ("keyDown", "keyUp"):
            self.run(
                self.page.send(
                    "Input.dispatchKeyEvent",
                    {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": key_code},
                )
            )


async def _start(
    tmp: Path, sim: SimulatorThread, runner: LoopThread, process: HomeAssistantProcess, port: int
) -> CardSession:
    session = aiohttp.ClientSession()
    api = HomeAssistantClient(session, f"http://127.0.0.1:{port}")
    try:
        await start_and_connect(process, api)
        result = await api.add_integration({"port": sim.url})
        entry_id = result["result"]["entry_id"]
        device_id, _ = await wait_for_device(api, entry_id)
        entities = await api.entities(entry_id)
        browser = await Browser.launch(session, tmp / "chromium", tmp / "chromium.log")
    except BaseException:
        await api.close()
        await session.close()
        raise
    page = await browser.new_page(1000, 1100)
    await page.goto(f"{api.url}/auth/providers")
    tokens = json.dumps(json.dumps(api.browser_tokens()))
    await page.evaluate(f"localStorage.setItem('hassTokens', {tokens})")
    return CardSession(runner, sim, process, api, browser, page, device_id, entities, tmp)


async def _stop(card: CardSession) -> None:
    await card.browser.close()
    await card.api.close()
    await card.api.session.close()


@contextlib.contextmanager
def card_session(tmp: Path, model: MultiplusModel) -> Iterator[CardSession]:
    """Start the simulator, Home Assistant with the integration, and Chromium logged in."""
    pytest_socket.enable_socket()  # before the per-test fixture that does so: HA is on loopback
    runner = LoopThread()
    sim = SimulatorThread(model=model, link=str(tmp / "ttyMK3"), paced=True, time_scale=0.0)
    sim.start()
    port = free_port()
    prepare_config_dir(tmp / "config", "127.0.0.1", port)
    process = HomeAssistantProcess(tmp / "config")
    try:
        card = runner.run(_start(tmp, sim, runner, process, port))
        try:
            yield card
        finally:
            runner.run(_stop(card), 60)
    finally:
        code = process.stop()
        # Shown by pytest only when something failed.
        print(f"Home Assistant exited with {code}; its log ends:\n{process.log_tail(60)}")
        sim.stop()
        runner.close()
