"""``scripts/develop``: the simulated MK3 + MultiPlus-II and a real Home Assistant that uses it.

State lives in ``.develop/`` (git-ignored) and is reused by the next run: the owner account,
the config entry, history, dashboards edited in the UI. ``--reset`` starts afresh.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
import fcntl
import math
import os
from pathlib import Path
import random
import shutil
import signal
import sys
import time
from typing import IO, Any

import aiohttp

from custom_components.victron_mk3.vebus_mk3.const import InterfaceFlags
from custom_components.victron_mk3.vebus_mk3.simulator import FrontSwitch, MultiplusModel, Simulator

from .hassdev import (
    DASHBOARD_URL_PATH,
    PASSWORD,
    REPO,
    RESTART_EXIT_CODE,
    USERNAME,
    ApiError,
    DevError,
    HomeAssistantClient,
    HomeAssistantProcess,
    check_port_free,
    prepare_config_dir,
    start_and_connect,
    wait_for_device,
)

DEVELOP_DIR = REPO / ".develop"
LINK = DEVELOP_DIR / "ttyMK3"
LOCK_FILE = DEVELOP_DIR / "develop.lock"
DEFAULT_PORT = 8123
PROFILE_STEP = 5.0  # seconds between load changes

HELP = """\
Simulator commands (type and press Enter):
  status                    what the simulated device is doing
  unplug | replug           pull / plug the MK3's USB cable
  grid on|off               AC input present or not
  load WATTS | load auto    fixed AC-out load, or the varying household profile (default)
  front on|off|charger      the unit's own rocker switch
  soc PERCENT               battery state of charge
  help                      this list"""


def say(message: str) -> None:
    print(f"[develop] {message}", flush=True)


class LoadProfile:
    """A household on AC-out: a slow swell, plus now and then a kettle."""

    def __init__(self, model: MultiplusModel) -> None:
        self.model = model
        self.enabled = True
        self._rng = random.Random()
        self._kettle_until = 0.0

    def step(self, now: float) -> None:
        if not self.enabled:
            return
        if now > self._kettle_until and self._rng.random() < PROFILE_STEP / 240:
            self._kettle_until = now + 90
        base = 420 + 260 * math.sin(2 * math.pi * now / 600) + self._rng.uniform(-40, 40)
        self.model.load_w = round(max(80.0, base + (2200 if now < self._kettle_until else 0)))

    async def run(self) -> None:
        while True:
            self.step(time.monotonic())
            await asyncio.sleep(PROFILE_STEP)


def describe(sim: Simulator) -> str:
    model = sim.model
    flows = model.flows()
    standby = bool(model.interface_flags & InterfaceFlags.STANDBY)
    return (
        f"remote {model.switch_state.name.lower()}, limit {model.current_limit:g} A,"
        f" front switch {model.front_switch.name.lower()}, grid {'on' if model.ac_input_present else 'off'},"
        f" load {model.load_w:.0f} W, state {flows.state.name.lower()}, battery {flows.battery_voltage:.2f} V"
        f" {100 * model.soc:.1f} %, standby {'on' if standby else 'off'}"
        f"{', ASLEEP' if sim.asleep else ''}, {len(sim.received)} requests so far"
    )


async def handle_command(line: str, sim: Simulator, profile: LoadProfile) -> str:
    """One console command; the answer to print."""
    words = line.split()
    if not words:
        return ""
    command, args = words[0].lower(), [word.lower() for word in words[1:]]
    model = sim.model
    try:
        if command == "help":
            return HELP
        if command == "status":
            return describe(sim)
        if command == "unplug":
            await sim.unplug()
            return "unplugged: the port is gone until 'replug'"
        if command == "replug":
            await sim.replug()
            return "plugged in again"
        if command == "grid" and args in (["on"], ["off"]):
            model.ac_input_present = args == ["on"]
            return f"grid {args[0]}"
        if command == "load" and args == ["auto"]:
            profile.enabled = True
            return "load follows the household profile"
        if command == "load" and len(args) == 1:
            profile.enabled = False
            model.load_w = float(args[0])
            return f"load fixed at {model.load_w:.0f} W ('load auto' to vary it again)"
        fronts = {"on": FrontSwitch.ON, "off": FrontSwitch.OFF, "charger": FrontSwitch.CHARGER_ONLY}
        if command == "front" and len(args) == 1 and args[0] in fronts:
            model.front_switch = fronts[args[0]]
            return f"front switch {args[0]}"
        if command == "soc" and len(args) == 1:
            model.soc = max(0.0, min(1.0, float(args[0].rstrip("%")) / 100))
            return f"state of charge {100 * model.soc:.1f} %"
    except ValueError as err:
        return f"? {err}"
    return f"? unknown command {line.strip()!r}; 'help' lists them"


async def console(sim: Simulator, profile: LoadProfile) -> None:
    """Read simulator commands from the terminal, if there is one."""
    if not sys.stdin.isatty():
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            answer = await handle_command(line.decode(errors="replace"), sim, profile)
            if answer:
                print(f"[simulator] {answer}", flush=True)
    finally:
        # asyncio made the terminal non-blocking, and the shell shares that setting.
        with contextlib.suppress(OSError, ValueError):
            os.set_blocking(sys.stdin.fileno(), True)
        transport.close()


def take_lock(directory: Path) -> IO[str]:
    """One scripts/develop per checkout: a second would fight over the pty and the port."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = LOCK_FILE.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise DevError(f"scripts/develop already runs in this checkout (pid {pid}); stop it first") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def reset(directory: Path) -> None:
    for child in directory.iterdir():
        if child == LOCK_FILE:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


async def ensure_entry(client: HomeAssistantClient, port: str) -> dict[str, Any]:
    """The integration's entry: added through the config flow on the first run."""
    entries = await client.config_entries()
    if entries:
        return entries[0]
    say(f"adding the Victron MK3 integration on {port} through the config flow")
    result = await client.add_integration({"port": port})
    entry: dict[str, Any] = result["result"]
    return entry


def banner(*, url: str, device_id: str, elapsed: float, sim: Simulator, log: Path) -> str:
    rel_log = log.relative_to(REPO) if log.is_relative_to(REPO) else log
    return "\n".join(
        [
            "",
            f"  Home Assistant is ready at {url}   (took {elapsed:.0f} s)",
            f"  Login:       {USERNAME} / {PASSWORD}",
            f"  Dashboard:   {url}/{DASHBOARD_URL_PATH}/panel",
            f"  Device:      {url}/config/devices/device/{device_id}",
            f"  Simulator:   {sim.url} (2400 baud); type 'help' for its commands",
            f"  Log:         {rel_log}",
            "  Ctrl-C stops Home Assistant and the simulator.",
            "",
        ]
    )


async def supervise(args: argparse.Namespace) -> int:
    url_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else url_host}:{args.port}"
    lock = take_lock(DEVELOP_DIR)
    try:
        if args.reset:
            say("--reset: starting from an empty .develop/")
            reset(DEVELOP_DIR)
        check_port_free(args.host, args.port)
        prepare_config_dir(DEVELOP_DIR, args.host, args.port)
        return await _run(args, url)
    finally:
        lock.close()


async def _run(args: argparse.Namespace, url: str) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    process = HomeAssistantProcess(DEVELOP_DIR)

    def on_signal() -> None:
        if stop.is_set():  # a second Ctrl-C: no more waiting
            process.kill()
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal)

    # Paced: the integration samples at wire speed, so an unpaced device would be polled flat out.
    sim = Simulator(link=str(LINK), paced=True, seed=None)
    profile = LoadProfile(sim.model)
    profile.enabled = not args.steady
    tasks: list[asyncio.Task[None]] = []
    async with sim, aiohttp.ClientSession() as session, HomeAssistantClient(session, url) as client:
        say(f"simulated MK3 + MultiPlus-II on {sim.url}")
        tasks += [loop.create_task(profile.run()), loop.create_task(console(sim, profile))]
        try:
            while True:
                started = time.monotonic()
                say(f"starting Home Assistant (log: {process.log_path.relative_to(REPO)})")
                boot = loop.create_task(_boot(process, client, url))
                stopper = loop.create_task(stop.wait())
                await asyncio.wait({boot, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not boot.done():
                    boot.cancel()
                    with contextlib.suppress(asyncio.CancelledError, DevError, TimeoutError):
                        await boot
                    break
                device_id = boot.result()
                elapsed = time.monotonic() - started
                print(
                    banner(
                        url=url,
                        device_id=device_id,
                        elapsed=elapsed,
                        sim=sim,
                        log=process.log_path,
                    )
                )
                while not stop.is_set() and process.running:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.5)
                if stop.is_set():
                    break
                if process.returncode != RESTART_EXIT_CODE:
                    say(f"Home Assistant exited with code {process.returncode}; the end of its log:")
                    print(process.log_tail(), flush=True)
                    return process.returncode or 1
                await client.close()
                say("Home Assistant restarts (asked for from its UI)")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # An open websocket nobody reads would hold up Home Assistant's HTTP shutdown by 10 s.
            await client.close()
            if process.running:
                say("stopping Home Assistant …")
            code = await asyncio.to_thread(process.stop)
            how = f"exit code {code}" if code is None or code >= 0 else f"ended by signal {-code}"
            say(f"stopped (Home Assistant {how}); state kept in .develop/ for the next run")
    return 0


async def _boot(process: HomeAssistantProcess, client: HomeAssistantClient, url: str) -> str:
    onboarded = await start_and_connect(process, client)
    if onboarded:
        say(f"onboarding done through the API: owner {USERNAME!r}, password {PASSWORD!r}")
    entry = await ensure_entry(client, str(LINK))
    device_id, _ = await wait_for_device(client, entry["entry_id"])
    return device_id


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run the simulated MK3 + MultiPlus-II and a real Home Assistant configured for it.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DEVELOP_PORT", DEFAULT_PORT)),
        help="Home Assistant's HTTP port (default: $DEVELOP_PORT or %(default)s)",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("DEVELOP_HOST", "127.0.0.1"),
        help="address to listen on (default: $DEVELOP_HOST or %(default)s; 0.0.0.0 exposes the dev login)",
    )
    parser.add_argument("--reset", action="store_true", help="forget .develop/ and start afresh")
    parser.add_argument(
        "--steady", action="store_true", help="a constant load instead of the varying profile"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(supervise(args))
    except DevError as err:
        print(f"[develop] error: {err}", file=sys.stderr, flush=True)
        return 1
    except (TimeoutError, ApiError) as err:
        print(f"[develop] error: {err}; see .develop/home-assistant.log", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
