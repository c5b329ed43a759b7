"""ESS external control against the simulated ESS assistant over a real pty."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from custom_components.victron_mk3.vebus_mk3 import Mk3Client, UnsupportedError
from custom_components.victron_mk3.vebus_mk3.ess import discover_ess, setpoint_word
from custom_components.victron_mk3.vebus_mk3.ess_control import EssController, EssState
from custom_components.victron_mk3.vebus_mk3.exceptions import AccessLevelRequiredError
from custom_components.victron_mk3.vebus_mk3.messages import is_mk2, mk2_data
from custom_components.victron_mk3.vebus_mk3.requests import Request
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import (
    SETPOINT_AT_129,
    SETPOINT_AT_131,
    EssAssistant,
    MultiplusModel,
    Simulator,
)
from custom_components.victron_mk3.vebus_mk3.simulator.ess import NO_ESS

from .helpers import running, wait_for_cycles

WAIT = 15.0


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


@pytest.fixture
def ess() -> EssAssistant:
    return EssAssistant()


@pytest.fixture
def model(ess: EssAssistant) -> MultiplusModel:
    """conftest's ``sim`` and ``client`` then run a Multi with this ESS assistant."""
    return MultiplusModel(ess=ess)


def model_of(sim: Simulator) -> EssAssistant:
    assert sim.model.ess is not None
    return sim.model.ess


def test_sign_is_turned_once() -> None:
    """Home Assistant's +1500 W (taking from the grid) is the device's -1500 W (feed-in +)."""
    assert setpoint_word(1500) == (-1500) & 0xFFFF
    assert setpoint_word(-800) == 800
    assert setpoint_word(0) == 0
    assert setpoint_word(1e9) == 0x8000  # clamped to s16, not wrapped


@pytest.mark.parametrize(
    ("ess", "setpoint_id"),
    [(EssAssistant(layout=SETPOINT_AT_129), 129), (EssAssistant(layout=SETPOINT_AT_131), 131)],
)
async def test_discovery_walks_the_records(client: Mk3Client, sim: Simulator, setpoint_id: int) -> None:
    found = await discover_ess(client)
    assert found.setpoint_id == setpoint_id
    assert found.records[-1].assistant_id == 5
    assert model_of(sim).writes == 0  # discovery only reads


@pytest.mark.parametrize("ess", [EssAssistant(layout=NO_ESS)])
async def test_discovery_without_ess_says_why(client: Mk3Client) -> None:
    found = await discover_ess(client)
    assert found.setpoint_id is None
    assert "no ESS assistant" in found.reason


@pytest.mark.parametrize("model", [MultiplusModel()], ids=["no assistants"])
async def test_discovery_without_assistant_ram(client: Mk3Client) -> None:
    found = await discover_ess(client)
    assert not found.found
    assert "no assistant RAM" in found.reason


async def test_write_is_ram_only_and_takes_effect(client: Mk3Client, sim: Simulator) -> None:
    await client.write_ram_word(129, setpoint_word(1500))
    assert model_of(sim).setpoint == -1500
    assert model_of(sim).eeprom_writes == 0
    written = [p for p in sim.received if len(p) > 3 and p[2] == 0x37]
    assert written
    assert written[0][3] == 0x02  # flags: RAM variable, do not store in EEPROM
    # Reading the setpoint back does not echo the value (why the power confirms it instead).
    assert await client.read_ram_word(129) != setpoint_word(1500)


async def test_legacy_write_is_refused(client: Mk3Client) -> None:
    def parse(payload: bytes) -> None:
        if mk2_data(payload, ord("X"))[0] == 0x80:
            raise UnsupportedError("0x32 refused")

    legacy = Request("0x32", bytes((0xFF, ord("X"), 0x32, 129)), lambda p: is_mk2(p, ord("X")), parse)
    with pytest.raises(UnsupportedError):
        await client.request(legacy)


async def _controller(sim: Simulator, client: Mk3Client, **options: float) -> tuple[Sampler, EssController]:
    found = await discover_ess(client)
    assert found.setpoint_id is not None
    sampler = Sampler(client)
    return sampler, EssController(sampler, found.setpoint_id, **options)


def _grid_power(sampler: Sampler) -> float | None:
    return sampler.latest.ac_input_power if sampler.latest is not None else None


def _near(value: float | None, target: float) -> bool:
    """Within 5 % of the target (the issue's acceptance band)."""
    return _within(value, target, abs(target) * 0.05)


def _within(value: float | None, target: float, watts: float) -> bool:
    return value is not None and abs(value - target) <= watts


def _charging(sampler: Sampler) -> bool:
    dc = sampler.latest.dc if sampler.latest is not None else None
    return dc is not None and dc.current > 0


@pytest.mark.parametrize("ess", [EssAssistant(fallback_after=3.0)])
async def test_charge_feed_in_release(sim: Simulator, client: Mk3Client) -> None:
    """+1500 W takes 1500 W from the grid and charges; -800 W feeds 800 W; release falls back."""
    sampler, control = await _controller(sim, client, keepalive_interval=1.0)
    async with running(sampler):
        await wait_until(lambda: sampler.latest is not None and sampler.latest.dc is not None)
        await control.hold(1500)
        await wait_until(lambda: control.state is EssState.FOLLOWING)
        assert _near(_grid_power(sampler), 1500)
        await wait_until(lambda: _charging(sampler))

        await control.hold(-800)
        await wait_until(lambda: control.state is EssState.FOLLOWING and _near(_grid_power(sampler), -800))
        # Held past the device's fallback: the keep-alive keeps it in force, RAM only.
        await asyncio.sleep(4.0)
        assert model_of(sim).setpoint == 800
        assert _near(_grid_power(sampler), -800)
        assert control.stats.writes >= 4

        await control.release()
        await wait_for_cycles(sampler, sampler.stats.cycles + 2)  # a write in flight has landed
        writes = model_of(sim).writes
        await wait_until(lambda: model_of(sim).setpoint is None)  # the device fell back
        # Its own behaviour (self-consumption): nothing from or to the grid.
        await wait_until(lambda: _within(_grid_power(sampler), 0, 25))
        assert model_of(sim).writes == writes  # nothing written after the release
        assert model_of(sim).eeprom_writes == 0
        assert control.state is EssState.RELEASED
        await control.close()


@pytest.mark.parametrize("ess", [EssAssistant(gx_setpoint=0.0)])
async def test_gx_overwriting_stops_control(sim: Simulator, client: Mk3Client) -> None:
    sampler, control = await _controller(sim, client, keepalive_interval=0.5, follow_timeout=2.0)
    async with running(sampler):
        await wait_until(lambda: sampler.latest is not None)
        await control.hold(1500)
        await wait_until(lambda: control.state is EssState.NOT_FOLLOWING)
        assert "does not follow" in control.reason
        writes = model_of(sim).writes
        await asyncio.sleep(1.5)
        assert model_of(sim).writes == writes  # control stopped: no more keep-alives


async def test_duration_ends_control(sim: Simulator, client: Mk3Client) -> None:
    sampler, control = await _controller(sim, client, keepalive_interval=0.5)
    async with running(sampler):
        await wait_until(lambda: sampler.latest is not None)
        await control.hold(1000, duration=1.5)
        assert control.state.holding
        await wait_until(lambda: control.state is EssState.RELEASED)
        assert control.reason == "duration ended"
        assert control.grid_setpoint is None


async def test_link_fault_stops_keep_alive(sim: Simulator, client: Mk3Client) -> None:
    sampler, control = await _controller(sim, client, keepalive_interval=0.5)
    async with running(sampler) as task:
        await wait_until(lambda: sampler.latest is not None)
        await control.hold(500)
        task.cancel()  # sampling stops, as it does when the link fails
        await wait_until(lambda: control.state is EssState.LINK_LOST)
        assert control.grid_setpoint is None


@pytest.mark.parametrize("ess", [EssAssistant(refuses_with=0x9B)])
async def test_refused_write_is_typed_and_stops(sim: Simulator, client: Mk3Client) -> None:
    sampler, control = await _controller(sim, client, keepalive_interval=0.5)
    async with running(sampler):
        await wait_until(lambda: sampler.latest is not None)
        with pytest.raises(AccessLevelRequiredError):
            await control.hold(1000)
        assert control.state is EssState.REFUSED
        assert model_of(sim).setpoint is None


async def test_link_interrupted_between_keep_alives_stops(sim: Simulator, client: Mk3Client) -> None:
    """A sampler run that ended and started again between two writes hands control back."""
    sampler, control = await _controller(sim, client, keepalive_interval=1.0)
    async with running(sampler) as task:
        await wait_until(lambda: sampler.latest is not None)
        await control.hold(500)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    async with running(sampler):
        await wait_until(lambda: control.state is EssState.LINK_LOST)
        assert control.reason == "the link was interrupted"


async def test_ten_minutes_of_keep_alives_write_no_eeprom(sim: Simulator, client: Mk3Client) -> None:
    """150 keep-alives (ten minutes' worth at one per 4 s), compressed: every one RAM only."""
    sampler, control = await _controller(sim, client, keepalive_interval=0.02)
    async with running(sampler):
        await wait_until(lambda: sampler.latest is not None)
        await control.hold(-300)
        await wait_until(lambda: model_of(sim).writes >= 150, 60)
        assert control.state.holding
        assert model_of(sim).eeprom_writes == 0
        await control.release()


async def test_full_battery_limits_without_stopping(tmp_path: Path) -> None:
    """A charging setpoint a full battery cannot take: limited, held on, no "not following"."""
    from custom_components.victron_mk3.vebus_mk3.const import ChargeStage

    ess = EssAssistant()
    model = MultiplusModel(ess=ess, soc=0.999, charge_stage=ChargeStage.FLOAT)
    async with Simulator(model, link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            sampler, control = await _controller(sim, client, keepalive_interval=0.5, follow_timeout=1.0)
            async with running(sampler):
                await wait_until(lambda: sampler.latest is not None)
                await control.hold(2000)
                await wait_until(lambda: control.state is EssState.LIMITED)
                assert "full" in control.reason
                writes = ess.writes
                await asyncio.sleep(2.5)  # past the follow timeout
                assert control.state is EssState.LIMITED
                assert ess.writes > writes  # still held
                await control.close()
        finally:
            await client.close()
