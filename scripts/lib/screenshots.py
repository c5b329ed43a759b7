"""``scripts/screenshots``: the README's pictures, taken by headless Chromium from a real Home Assistant.

Each run starts from nothing, so the pictures only change when the integration, the dashboard
or Home Assistant do: a fresh configuration directory, the simulator with a frozen battery and
a fixed load, onboarding and the config flow through the API, then the device page and the
example dashboard as the ``dev`` user sees them.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import json
from pathlib import Path
import sys
import tempfile
import time

import aiohttp

from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator

from .cdp import Browser, CdpError, Page
from .hassdev import (
    DASHBOARD_URL_PATH,
    REPO,
    ApiError,
    DevError,
    HomeAssistantClient,
    HomeAssistantProcess,
    free_port,
    prepare_config_dir,
    start_and_connect,
    wait_for_device,
)

OUTPUT_DIR = REPO / "docs" / "images"
SETTLE = 2.0  # seconds for cards to finish animating once their text is there


@dataclass(frozen=True)
class Shot:
    """One picture: where to go, what must show first, the viewport."""

    name: str
    path: str
    needles: list[str]
    width: int = 1600
    height: int = 1000
    dark: bool = False  # the browser prefers a dark colour scheme (Home Assistant follows it)
    mobile: bool = False


CARD_NEEDLES = ["Mains on", "Charger only", "AC input current limit", "Standby", "AC out", " W"]


def say(message: str) -> None:
    print(f"[screenshots] {message}", flush=True)


def shots(device_id: str) -> list[Shot]:
    return [
        Shot(
            "device.png",
            f"/config/devices/device/{device_id}",
            ["Remote panel mode", "Battery voltage", "Device info", "MK3-USB Interface"],
            height=1410,
        ),
        # The integration's own card on the develop dashboard: the text is in its shadow root.
        Shot("dashboard.png", f"/{DASHBOARD_URL_PATH}/panel", CARD_NEEDLES, width=1280, height=720),
        Shot(
            "card-dark-phone.png",
            f"/{DASHBOARD_URL_PATH}/panel",
            CARD_NEEDLES,
            width=390,
            height=844,
            dark=True,
            mobile=True,
        ),
    ]


def scene() -> MultiplusModel:
    """An ordinary afternoon: on the grid, charging in bulk, a modest load."""
    return MultiplusModel(load_w=640.0, soc=0.62)


async def photograph(page: Page, url: str, shot: Shot, target: Path) -> None:
    """Open the page at the shot's size, wait for its content, save the picture."""
    metrics = {"width": shot.width, "height": shot.height, "deviceScaleFactor": 1, "mobile": shot.mobile}
    await page.send("Emulation.setDeviceMetricsOverride", metrics)
    scheme = {"name": "prefers-color-scheme", "value": "dark" if shot.dark else "light"}
    await page.send("Emulation.setEmulatedMedia", {"features": [scheme]})
    await page.goto(url + shot.path)
    try:
        await page.wait_for_text(shot.needles)
    except CdpError:
        failed = Path(tempfile.gettempdir()) / f"failed-{shot.name}"
        await page.screenshot(failed)
        say(f"what the page showed instead: {failed}")
        raise
    await asyncio.sleep(SETTLE)
    await page.screenshot(target)
    say(f"wrote {target.relative_to(REPO) if target.is_relative_to(REPO) else target}")


async def log_in(page: Page, api: HomeAssistantClient) -> None:
    """What the login page leaves behind: the tokens in the origin's localStorage."""
    await page.goto(f"{api.url}/auth/providers")
    tokens = json.dumps(json.dumps(api.browser_tokens()))
    await page.evaluate(f"localStorage.setItem('hassTokens', {tokens})")


async def take(output: Path, only: set[str]) -> list[Path]:
    """Boot everything in a temporary directory and take the pictures."""
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="victron-mk3-screenshots-") as tmp:
        work = Path(tmp)
        port = free_port()
        config_dir = work / "config"
        prepare_config_dir(config_dir, "127.0.0.1", port)
        process = HomeAssistantProcess(config_dir)
        sim = Simulator(scene(), link=str(work / "ttyMK3"), paced=True, time_scale=0.0)
        async with (
            sim,
            aiohttp.ClientSession() as session,
            HomeAssistantClient(session, f"http://127.0.0.1:{port}") as api,
        ):
            try:
                started = time.monotonic()
                await start_and_connect(process, api)
                result = await api.add_integration({"port": sim.url})
                device_id, _ = await wait_for_device(api, result["result"]["entry_id"])
                say(f"Home Assistant is ready with the simulated device ({time.monotonic() - started:.0f} s)")
                browser = await Browser.launch(session, work / "chromium", work / "chromium.log")
                try:
                    page = await browser.new_page(1280, 1000)
                    await log_in(page, api)
                    for shot in shots(device_id):
                        if not only or shot.name in only:
                            await photograph(page, api.url, shot, output / shot.name)
                            written.append(output / shot.name)
                finally:
                    await browser.close()
            except BaseException:
                say(f"Home Assistant's log ends:\n{process.log_tail(40)}")
                raise
            finally:
                await api.close()
                await asyncio.to_thread(process.stop)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/screenshots", description="Regenerate the README's screenshots (docs/images/)."
    )
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR, help="directory (default: docs/images)")
    parser.add_argument(
        "names", nargs="*", help="only these pictures (device.png, dashboard.png, card-dark-phone.png)"
    )
    args = parser.parse_args(argv)
    try:
        asyncio.run(take(args.output.resolve(), set(args.names)))
    except (DevError, CdpError, ApiError, TimeoutError) as err:
        print(f"[screenshots] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
