"""The sampler: what it asks for each cycle, commands jumping the queue, faults."""

from __future__ import annotations

import asyncio
import re

import pytest

from custom_components.victron_mk3.vebus_mk3 import (
    ChargeStage,
    DeviceStatus,
    InterfaceFlags,
    LinkIOError,
    Mk3Client,
    NoAnswerError,
    NotConnectedError,
    SwitchRegister,
    SwitchState,
)
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import Simulator

from .helpers import running, wait_for_cycles


async def test_each_cycle_asks_only_for_fast_values(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    published: list[DeviceStatus] = []
    sampler.add_listener(published.append)
    async with running(sampler):
        await wait_for_cycles(sampler, 1)
        sim.clear_received()
        await wait_for_cycles(sampler, 4)
    assert published[0].interface_flags is not None
    assert published[0].config.current_limit == pytest.approx(16.0)
    letters = "".join(sim.letters)
    # One RAM read of the three power variables, F0, L, F1 (sent together): no F5, H or V.
    assert re.search(r"([XYZ]FLF){2}", letters), letters
    assert set(letters) <= set("LFXYZ"), letters
    assert "H" not in letters
    assert not any(p[:3] == b"\xffF\x05" for p in sim.received)
    assert len(published) >= 4
    assert published[-1].taken_at > published[0].taken_at


async def test_slow_values_on_their_cadence(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=0.0)
    async with running(sampler):
        await wait_for_cycles(sampler, 1)
        sim.clear_received()
        await wait_for_cycles(sampler, 4)
    assert sum(1 for p in sim.received if p[:3] == b"\xffF\x05") >= 2
    assert sim.count("H") >= 2


async def test_command_jumps_the_queue_and_is_confirmed(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    async with running(sampler):
        await wait_for_cycles(sampler, 1)
        status = await sampler.command(lambda c: c.set_state(SwitchState.CHARGER_ONLY, 12.0))
        assert sampler.latest is status
    assert status.config.current_limit == pytest.approx(12.0)
    assert SwitchRegister.REMOTE_INVERT not in status.config.switch_register
    assert sim.model.switch_state is SwitchState.CHARGER_ONLY
    # The confirming read follows the command directly.
    index = next(i for i, p in enumerate(sim.received) if p[:2] == b"\xffS")
    assert sim.received[index + 1] == b"\xffF\x05"


async def test_standby_command(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    async with running(sampler):
        await wait_for_cycles(sampler, 1)
        status = await sampler.command(
            lambda c: c.set_interface_flags(InterfaceFlags.PANEL_DETECT | InterfaceFlags.STANDBY)
        )
    assert status.interface_flags is not None
    assert InterfaceFlags.STANDBY in status.interface_flags


async def test_command_while_not_sampling_fails_at_once(client: Mk3Client) -> None:
    sampler = Sampler(client)
    with pytest.raises(NotConnectedError):
        await sampler.command(lambda c: c.set_state(SwitchState.OFF, None))


async def test_unanswered_command_raises_and_sampling_goes_on(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    async with running(sampler) as task:
        await wait_for_cycles(sampler, 1)

        async def unanswered(_client: Mk3Client) -> None:
            raise NoAnswerError("no answer to S within 0.5 s")

        with pytest.raises(NoAnswerError):
            await sampler.command(unanswered)
        cycles = sampler.stats.cycles
        await wait_for_cycles(sampler, cycles + 2)
        assert not task.done()


async def test_unplug_ends_the_run_and_fails_queued_commands(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    task = asyncio.create_task(sampler.run())
    await wait_for_cycles(sampler, 1)
    sim.faults.reply_delay = 0.3
    command = asyncio.create_task(sampler.command(lambda c: c.set_state(SwitchState.OFF, None)))
    await asyncio.sleep(0.05)
    await sim.unplug()
    with pytest.raises(LinkIOError):
        await task
    with pytest.raises(LinkIOError):
        await command
    assert not sampler.running


async def test_slow_read_brings_charge_stage_soc_and_firmware(sim: Simulator, client: Mk3Client) -> None:
    sim.model.charge_stage = ChargeStage.ABSORPTION
    sampler = Sampler(client, slow_interval=3600)
    async with running(sampler):
        await wait_for_cycles(sampler, 1)
    status = sampler.latest
    assert status is not None
    assert status.charge_stage is ChargeStage.ABSORPTION
    assert status.state_of_charge == pytest.approx(sim.model.soc * 100, abs=0.5)
    assert status.firmware_version == 2623506
