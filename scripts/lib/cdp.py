"""Just enough of the Chrome DevTools Protocol to load pages and take screenshots.

Headless Chromium is started with ``--remote-debugging-port=0`` and reached over one websocket
(aiohttp, already in Home Assistant's venv): no Node, no browser downloads.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
from pathlib import Path
import shutil
import subprocess
import time
from typing import Any, Self, cast

import aiohttp

START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0

# Text of the page including every shadow root (Home Assistant's frontend is web components).
DEEP_TEXT_JS = """
(() => {
  const parts = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document);
  return parts.join(' ').replace(/\\s+/g, ' ');
})()
"""


class CdpError(Exception):
    """Chromium could not be started or a command failed."""


def find_chromium() -> str:
    """``$CHROMIUM``, else Debian's ``chromium``."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (path := shutil.which(candidate)):
            return path
    raise CdpError("no Chromium found: `apt-get install chromium` (or set $CHROMIUM)")


class Browser:
    """A headless Chromium and its DevTools websocket (flat sessions, one per page)."""

    def __init__(self, proc: subprocess.Popen[bytes], ws: aiohttp.ClientWebSocketResponse) -> None:
        self.proc = proc
        self.ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @staticmethod
    def _start(profile_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
        profile_dir.mkdir(parents=True, exist_ok=True)
        command = [
            find_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-quic",
            "--no-first-run",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--lang=en-US",
            f"--user-data-dir={profile_dir}",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        with log_path.open("wb") as log:
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    @staticmethod
    def _devtools_address(profile_dir: Path) -> list[str]:
        """Port and path from the file Chromium writes once it listens (empty before)."""
        try:
            return (profile_dir / "DevToolsActivePort").read_text().split()[:2]
        except FileNotFoundError:
            return []

    @classmethod
    async def launch(cls, session: aiohttp.ClientSession, profile_dir: Path, log_path: Path) -> Self:
        """Start headless Chromium with a new profile and connect to it."""
        proc = await asyncio.to_thread(cls._start, profile_dir, log_path)
        deadline = time.monotonic() + START_TIMEOUT
        while len(address := await asyncio.to_thread(cls._devtools_address, profile_dir)) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise CdpError(f"Chromium did not start; see {log_path}")
            await asyncio.sleep(0.1)
        port, path = address
        ws = await session.ws_connect(f"ws://127.0.0.1:{port}{path}", max_msg_size=0)
        return cls(proc, ws)

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            future = self._pending.pop(data.get("id", -1), None)
            if future is not None and not future.done():
                future.set_result(data)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CdpError("Chromium closed the DevTools connection"))

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self.ws.send_json(message)
        answer = await asyncio.wait_for(future, COMMAND_TIMEOUT)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def new_page(self, width: int, height: int, scale: float = 1.0) -> Page:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        page = Page(self, cast(str, attached["sessionId"]))
        await page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
        )
        await page.send(
            "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]}
        )
        return page

    async def close(self) -> None:
        with contextlib.suppress(CdpError, aiohttp.ClientError, TimeoutError, ConnectionError):
            await asyncio.wait_for(self.send("Browser.close"), 5)
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        try:
            await asyncio.to_thread(self.proc.wait, 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait)


class Page:
    """One tab."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    async def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.browser.send(method, params, self.session)

    async def goto(self, url: str) -> None:
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CdpError(f"loading {url}: {result['errorText']}")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise CdpError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def text(self) -> str:
        return cast(str, await self.evaluate(DEEP_TEXT_JS) or "")

    async def wait_for_text(self, needles: list[str], within: float = 30.0) -> None:
        """Until every needle shows somewhere on the page (shadow roots included)."""
        deadline = time.monotonic() + within
        missing = needles
        while True:
            with contextlib.suppress(CdpError):  # the page may be navigating
                text = await self.text()
                missing = [needle for needle in needles if needle not in text]
                if not missing:
                    return
            if time.monotonic() > deadline:
                raise CdpError(f"the page never showed {missing}")
            await asyncio.sleep(0.25)

    async def screenshot(self, path: Path) -> None:
        result = await self.send("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(_write, path, base64.b64decode(result["data"]))


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
