"""Home Assistant side: a real ``hass`` process against the simulator paced at 2400 baud."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import statistics
import tempfile
import time

import aiohttp

from custom_components.victron_mk3.vebus_mk3 import SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import Simulator, SimulatorThread
from scripts.lib.hassdev import (
    HomeAssistantClient,
    HomeAssistantProcess,
    free_port,
    prepare_config_dir,
    start_and_connect,
    wait_for_device,
)

from .link import Row

WRITES_WINDOW = 30.0
TRIALS = 8
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def _median_p95(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f} s"


class StateEvents:
    """state_changed events of the integration's entities, with their arrival time."""

    def __init__(self, entity_ids: set[str]) -> None:
        self.entity_ids = entity_ids
        self.events: list[tuple[float, str, str]] = []
        self.arrived = asyncio.Event()

    async def pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
        async for message in ws:
            data = message.json()
            event = data.get("event", {}).get("data", {})
            if event.get("entity_id") in self.entity_ids and event.get("new_state"):
                self.events.append((time.monotonic(), event["entity_id"], event["new_state"]["state"]))
                self.arrived.set()

    async def first(self, since: float, entity_id: str, accept: Callable[[str], bool]) -> float:
        """Seconds from ``since`` until ``entity_id`` shows a state ``accept`` likes."""
        async with asyncio.timeout(20):
            while True:
                for at, entity, state in self.events:
                    if at >= since and entity == entity_id and accept(state):
                        return at - since
                self.arrived.clear()
                await self.arrived.wait()


def _near(value: float) -> Callable[[str], bool]:
    def accept(state: str) -> bool:
        with contextlib.suppress(ValueError):
            return abs(float(state) - value) < 2
        return False

    return accept


async def measure_home_assistant(rows: list[Row], interval: float | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # The battery evolves (time_scale 1) so that entity writes are those of a live device.
        sim = SimulatorThread(link=str(Path(tmp) / "ttyMK3"), paced=True, time_scale=1.0)
        sim.start()
        config_dir = Path(tmp) / "config"
        port = free_port()
        prepare_config_dir(config_dir, "127.0.0.1", port)
        process = HomeAssistantProcess(config_dir)
        try:
            async with aiohttp.ClientSession() as session:
                api = HomeAssistantClient(session, f"http://127.0.0.1:{port}")
                await start_and_connect(process, api)
                entry_id = (await api.add_integration({"port": sim.url}))["result"]["entry_id"]
                if interval is not None:
                    await api.set_options(entry_id, {"scan_interval": interval, "phases": []})
                device_id, select = await wait_for_device(api, entry_id)
                entities = await api.entities(entry_id)
                events = StateEvents(set(entities.values()))
                ws = await api._ws_connect()
                pump = asyncio.create_task(events.pump(ws))
                setup = Setup(sim, api, events, entities, device_id, select, process)
                await _measure(rows, setup, interval)
                pump.cancel()
                await ws.close()
        finally:
            await asyncio.to_thread(process.stop)
            sim.stop()


@dataclass
class Setup:
    """A running Home Assistant with the integration set up against the simulator."""

    sim: SimulatorThread
    api: HomeAssistantClient
    events: StateEvents
    entities: dict[str, str]
    device_id: str
    select: str
    process: HomeAssistantProcess


def _set_load(load: float) -> Callable[[Simulator], None]:
    return lambda sim: setattr(sim.model, "load_w", load)


def _is(mode: str) -> Callable[[str], bool]:
    return lambda state: state == mode


async def _measure(rows: list[Row], setup: Setup, interval: float | None) -> None:
    sim, api, events, entities = setup.sim, setup.api, setup.events, setup.entities
    device_id, select, process = setup.device_id, setup.select, setup.process
    label = "default 2 s" if interval is None else f"{interval} s"
    assert process.proc is not None
    await asyncio.sleep(3)
    cpu, started = _cpu_seconds(process.proc.pid), time.monotonic()
    count = len(events.events)
    await asyncio.sleep(WRITES_WINDOW)
    elapsed = time.monotonic() - started
    writes = (len(events.events) - count) * 60 / elapsed
    cpu_per_minute = (_cpu_seconds(process.proc.pid) - cpu) * 60 / elapsed

    power = entities["ac_output_power"]
    freshness = []
    for trial in range(TRIALS):
        load = 500.0 + 137 * trial
        await asyncio.sleep(0.37 * (trial % 3))  # land at different points of the publish cycle
        since = time.monotonic()
        sim.call(_set_load(load))
        freshness.append(await events.first(since, power, _near(load)))

    device_side, ha_side = [], []
    for trial in range(TRIALS // 2):
        mode = "charger_only" if trial % 2 == 0 else "on"
        expected = SwitchState.CHARGER_ONLY if mode == "charger_only" else SwitchState.ON
        since = time.monotonic()
        call = asyncio.create_task(
            api.call_service("victron_mk3", "set_remote_panel_state", {"device_id": device_id, "mode": mode})
        )
        while sim.call(lambda s: s.model.switch_state) is not expected:
            await asyncio.sleep(0.005)
        device_side.append(time.monotonic() - since)
        ha_side.append(await events.first(since, select, _is(mode)))
        await call
    rows += [
        Row(f"entity writes per minute ({label})", f"{writes:.0f}"),
        Row(
            f"change in the device → visible in HA, median / p95 ({label})",
            _median_p95(freshness),
            "≤ 1.5 s" if interval is None else "",
        ),
        Row("set_remote_panel_state → device changed, median / p95", _median_p95(device_side), "≤ 0.5 s"),
        Row(
            "set_remote_panel_state → HA state shows it (read back), median / p95",
            _median_p95(ha_side),
            "≤ 0.7 s",
        ),
        Row(f"hass CPU seconds per minute ({label})", f"{cpu_per_minute:.2f}"),
    ]
