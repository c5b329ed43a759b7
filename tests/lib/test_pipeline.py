"""A cycle's reads sent together (pipeline.py), read at the cycle's pace, and the fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path

import pytest

from custom_components.victron_mk3.vebus_mk3 import DeviceStatus, Mk3Client, SwitchState
from custom_components.victron_mk3.vebus_mk3.capabilities import Feature, Support
from custom_components.victron_mk3.vebus_mk3.pipeline import GIVE_UP_AFTER
from custom_components.victron_mk3.vebus_mk3.requests import dc_info, leds
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import DeviceQuirks, MultiplusModel, Simulator

from .helpers import running, wait_for_cycles


@contextlib.asynccontextmanager
async def connected(url: str) -> AsyncIterator[Mk3Client]:
    client = Mk3Client(url)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def test_a_cycle_goes_out_in_one_write(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    samples: list[DeviceStatus] = []
    sampler.add_listener(samples.append)
    async with running(sampler):
        await wait_for_cycles(sampler, 2)
        lost = sampler.stats.lost_replies
        writes, requests = client.stats.writes, client.stats.requests
        await wait_for_cycles(sampler, 7)
        writes, requests = client.stats.writes - writes, client.stats.requests - requests
    assert sampler.capabilities[Feature.PIPELINED_READS].support is Support.SUPPORTED
    # RAM powers, DC, LEDs, AC L1 in each write (a version frame or two may go alone).
    assert requests >= 4 * writes - 2, (requests, writes)
    model, status = sim.model, samples[-1]
    assert status.dc is not None
    assert status.dc.voltage == pytest.approx(model.flows().battery_voltage, abs=0.01)
    assert status.ac[1].mains_voltage == pytest.approx(model.ac_input_voltage, abs=0.1)
    assert status.ram  # the power variables came with the batch
    assert sampler.stats.lost_replies == lost


async def test_a_reply_lost_from_a_batch_costs_one_request(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    async with running(sampler):
        await wait_for_cycles(sampler, 2)
        timeouts, lost = client.stats.timeouts, sampler.stats.lost_replies
        sim.faults.drop_next = 1  # one reply of the next batch
        async with asyncio.timeout(10):
            while client.stats.timeouts == timeouts:
                await asyncio.sleep(0.05)
        writes, requests = client.stats.writes, client.stats.requests
        await wait_for_cycles(sampler, sampler.stats.cycles + 3)
    assert sim.replies_dropped == 1
    assert client.stats.timeouts - timeouts == 1
    assert sampler.capabilities[Feature.PIPELINED_READS].support is Support.SUPPORTED
    assert sampler.stats.lost_replies == lost  # asked again on its own: no part went without
    # After the re-ask, batches again.
    assert client.stats.requests - requests > client.stats.writes - writes


async def test_replies_are_read_at_the_pace_unless_hurried(sim: Simulator, client: Mk3Client) -> None:
    loop = asyncio.get_running_loop()
    await client.get_dc()  # scales
    started = loop.time()
    results = await client.request_batch([leds(), dc_info(client.scales)], read_after=started + 0.6)
    assert loop.time() - started >= 0.6  # the unpaced simulator answered at once: held until then
    assert not any(isinstance(result, Exception) for result in results)
    started = loop.time()
    batch = asyncio.ensure_future(client.request_batch([leds()], read_after=started + 30))
    await asyncio.sleep(0.2)
    client.hurry()
    await asyncio.wait_for(batch, 10)
    assert loop.time() - started < 10  # not held for the 30 s


async def test_a_command_does_not_wait_for_the_cycle_pace(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600, min_cycle=30.0)
    async with running(sampler), asyncio.timeout(10):
        while sim.count("L") == 0:  # the first cycle's batch: its replies are held for 30 s
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await sampler.command(lambda c: c.set_state(SwitchState.CHARGER_ONLY, None))
    assert sim.model.switch_state is SwitchState.CHARGER_ONLY


async def test_a_device_that_takes_one_request_at_a_time_is_asked_that_way(tmp_path: Path) -> None:
    # An interface that ignores a request arriving while it handles another (a guess).
    model = MultiplusModel(quirks=DeviceQuirks(one_request_at_a_time=True))
    async with (
        Simulator(model, link=str(tmp_path / "ttyMK2"), time_scale=0.0) as sim,
        connected(sim.url) as client,
    ):
        await _fall_back(sim, client)


async def _fall_back(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600, min_cycle=0.0)
    samples: list[DeviceStatus] = []
    async with running(sampler):
        await wait_for_cycles(sampler, 1)
        lost = sampler.stats.lost_replies  # L2-L4 discovery: this unit has L1 only
        sampler.add_listener(samples.append)
        await wait_for_cycles(sampler, GIVE_UP_AFTER + 3, timeout=60)
        capability = sampler.capabilities[Feature.PIPELINED_READS]
        assert capability.support is Support.UNSUPPORTED
        assert "one request at a time" in capability.reason
        ignored, writes, requests = sim.requests_ignored, client.stats.writes, client.stats.requests
        await wait_for_cycles(sampler, sampler.stats.cycles + 3)
    assert sim.requests_ignored == ignored  # nothing sent together any more
    assert client.stats.writes - writes == client.stats.requests - requests
    assert ignored >= GIVE_UP_AFTER
    # Every cycle had all of its values all along, from the re-asked requests.
    assert sampler.stats.lost_replies == lost
    assert all(status.dc is not None and 1 in status.ac and status.ram for status in samples)
