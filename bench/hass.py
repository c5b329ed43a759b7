"""A real ``hass`` process with the integration set up against the simulator paced at 2400 baud."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import statistics
import tempfile
import time
from typing import NamedTuple

import aiohttp

from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread
from scripts.lib.hassdev import (
    DOMAIN,
    HomeAssistantClient,
    HomeAssistantProcess,
    free_port,
    prepare_config_dir,
    start_and_connect,
    wait_for_device,
)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
UNAVAILABLE = ("unavailable", "unknown")
__all__ = [
    "DOMAIN",
    "UNAVAILABLE",
    "Setup",
    "StateEvents",
    "cpu_seconds",
    "median_p95",
    "running_home_assistant",
]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def median_p95(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.2f} / {p95:.2f} s"


class StateEvent(NamedTuple):
    """One state_changed event as it arrived over the websocket."""

    at: float  # time.monotonic() on arrival
    entity_id: str
    state: str
    written: str  # the state's last_reported: identifies the write


class StateEvents:
    """state_changed events of the integration's entities, with their arrival time."""

    def __init__(self, entity_ids: set[str]) -> None:
        self.entity_ids = entity_ids
        self.events: list[StateEvent] = []
        self.arrived = asyncio.Event()

    async def pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await ws.send_json({"id": 1, "type": "subscribe_events", "event_type": "state_changed"})
        async for message in ws:
            data = message.json()
            event = data.get("event", {}).get("data", {})
            new_state = event.get("new_state")
            if event.get("entity_id") in self.entity_ids and new_state:
                written = new_state.get("last_reported") or new_state.get("last_updated", "")
                self.events.append(
                    StateEvent(time.monotonic(), event["entity_id"], new_state["state"], written)
                )
                self.arrived.set()

    def since(self, started: float) -> list[StateEvent]:
        return [event for event in self.events if event.at >= started]

    async def first(self, since: float, entity_id: str, accept: Callable[[str], bool]) -> float:
        """Seconds from ``since`` until ``entity_id`` shows a state ``accept`` likes."""
        async with asyncio.timeout(20):
            while True:
                for event in self.events:
                    if event.at >= since and event.entity_id == entity_id and accept(event.state):
                        return event.at - since
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class Setup:
    """A running Home Assistant with the integration set up against the simulator."""

    sim: SimulatorThread
    api: HomeAssistantClient
    events: StateEvents
    entities: dict[str, str]  # entity id by key (unique id without the entry id)
    device_id: str
    select: str
    process: HomeAssistantProcess
    keys: dict[str, str] = field(default_factory=dict)  # key by entity id

    def __post_init__(self) -> None:
        self.keys = {entity_id: key for key, entity_id in self.entities.items()}

    @property
    def pid(self) -> int:
        assert self.process.proc is not None
        return self.process.proc.pid


@contextlib.asynccontextmanager
async def running_home_assistant(interval: float | None = None) -> AsyncIterator[Setup]:
    """Home Assistant with the integration set up (options: ``interval`` or the defaults)."""
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
                try:
                    yield Setup(sim, api, events, entities, device_id, select, process)
                finally:
                    pump.cancel()
                    await asyncio.gather(pump, return_exceptions=True)
                    await ws.close()
                    await api.close()
        finally:
            await asyncio.to_thread(process.stop)
            sim.stop()
