"""The sampling plan: a failure costs its part, not the link; capabilities; states confirmed.

Everything runs the real client and sampler against the simulator over a real pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import pytest

from custom_components.victron_mk3.vebus_mk3 import (
    DeviceStatus,
    InterfaceFlags,
    Led,
    Mk3Client,
)
from custom_components.victron_mk3.vebus_mk3.capabilities import Feature, Support
from custom_components.victron_mk3.vebus_mk3.sampler import LinkDownError, Sampler
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator
from custom_components.victron_mk3.vebus_mk3.status import DC

from .helpers import running, wait_for_cycles


async def test_a_lost_reply_costs_its_part_not_the_link(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    async with running(sampler) as task:
        await wait_for_cycles(sampler, 2)
        dc_read = sampler.latest.read_at[DC] if sampler.latest else 0.0
        cycles = sampler.stats.cycles
        sim.faults.drop_next = 2  # the request and its one retry: that part is lost this cycle
        await wait_for_cycles(sampler, cycles + 3)
        assert not task.done()
    assert sampler.stats.lost_replies >= 1
    assert sampler.latest is not None
    assert sampler.latest.read_at[DC] > dc_read  # the part came back the next cycle


async def test_silence_takes_the_link_down_within_two_seconds(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)
    task = asyncio.create_task(sampler.run())
    await wait_for_cycles(sampler, 2)
    sim.faults.drop_probability = 1.0  # nothing answers any more (asleep or unpowered)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LinkDownError):
        await task
    assert loop.time() - started < 2.0


async def test_noise_never_takes_the_link_down(tmp_path: Path) -> None:
    """1 % of the bytes flipped both ways: parts are lost now and then, the run goes on."""
    sim = Simulator(MultiplusModel(), link=str(tmp_path / "tty"), time_scale=0.0, seed=3)
    async with sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            sampler = Sampler(client, slow_interval=2.0, min_cycle=0.0)
            async with running(sampler) as task:
                await wait_for_cycles(sampler, 2)
                sim.faults.flip_probability = 0.01
                sim.faults.request_flip_probability = 0.01
                await wait_for_cycles(sampler, 40, 120)
                assert not task.done()
        finally:
            await client.close()
    assert sim.reply_bytes_flipped > 0
    assert sim.request_bytes_flipped > 0
    assert sampler.stats.lost_replies > 0


async def test_a_configured_phase_that_never_answers_stops_being_asked(
    sim: Simulator, client: Mk3Client
) -> None:
    sampler = Sampler(client, [1, 2], slow_interval=3600, min_cycle=0.0)
    async with running(sampler) as task:
        await wait_for_cycles(sampler, 4)
        capability = sampler.capabilities[Feature.PHASE_2]
        assert capability.support is Support.NOT_ANSWERING
        assert "F2" in capability.reason
        sim.clear_received()
        await wait_for_cycles(sampler, sampler.stats.cycles + 3)
        assert not task.done()
    assert not any(p == b"\xffF\x02" for p in sim.received)  # not asked again for minutes
    assert sampler.phases == [1]
    assert sampler.latest is not None
    assert sorted(sampler.latest.ac) == [1]


async def test_detected_phases_on_a_three_phase_system(tmp_path: Path) -> None:
    async with Simulator(MultiplusModel(phases=3), link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            sampler = Sampler(client, slow_interval=3600)
            async with running(sampler):
                await wait_for_cycles(sampler, 2)
        finally:
            await client.close()
    assert sampler.phases == [1, 2, 3]
    assert sampler.capabilities[Feature.PHASE_4].support is Support.NOT_ANSWERING
    assert sampler.latest is not None
    assert sorted(sampler.latest.ac) == [1, 2, 3]


async def test_a_changed_state_is_confirmed_by_an_immediate_re_read(
    sim: Simulator, client: Mk3Client
) -> None:
    sampler = Sampler(client, slow_interval=3600)
    published: list[DeviceStatus] = []
    sampler.add_listener(published.append)
    async with running(sampler):
        await wait_for_cycles(sampler, 2)
        sim.model.load_w = 1e6  # far above the rating: the overload LED comes on
        await wait_for_cycles(sampler, sampler.stats.cycles + 2)
    assert sampler.stats.confirm_reads >= 1
    assert published[-1].leds is not None
    assert Led.OVERLOAD in published[-1].leds.on | published[-1].leds.blink


async def test_a_listener_that_raises_does_not_stop_sampling(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600)

    def broken(_status: DeviceStatus) -> None:
        raise RuntimeError("a bug in someone's listener")

    sampler.add_listener(broken)
    async with running(sampler) as task:
        await wait_for_cycles(sampler, 3)
        assert not task.done()
    assert sampler.stats.listener_errors >= 3


async def test_a_resumed_link_does_not_read_everything_again(sim: Simulator, client: Mk3Client) -> None:
    """After silence with the port still open, sampling resumes from what it knows."""
    sampler = Sampler(client, slow_interval=3600)
    task = asyncio.create_task(sampler.run())
    await wait_for_cycles(sampler, 2)
    sim.faults.drop_probability = 1.0
    with pytest.raises(LinkDownError):
        await task
    sim.faults.drop_probability = 0.0
    sim.clear_received()
    published: list[DeviceStatus] = []
    sampler.add_listener(published.append)
    async with running(sampler):
        async with asyncio.timeout(5):
            while not published:
                await asyncio.sleep(0.01)
    firmware_requests = [p for p in sim.received if len(p) > 2 and p[1] in b"XYZ" and p[2] in (5, 6)]
    assert firmware_requests == []  # known from before the silence
    assert published[0].firmware_version == 2623506


async def test_standby_re_assertion_backs_off_and_gives_up(tmp_path: Path) -> None:
    """An interface that echoes the standby bit but never keeps it: three tries, then quiet."""
    model = MultiplusModel()
    model.quirks = dataclasses.replace(model.quirks, drops_standby_flag=True)
    async with Simulator(model, link=str(tmp_path / "tty"), time_scale=0.0) as sim:
        client = Mk3Client(sim.url)
        await client.connect()
        try:
            sampler = Sampler(client, slow_interval=0.0, min_cycle=0.0)
            sampler.want_standby(True)
            async with running(sampler):
                await wait_for_cycles(sampler, 40, 30)
        finally:
            await client.close()
    writes = [p for p in sim.received if p[:2] == b"\xffH" and len(p) > 2]
    assert len(writes) == 3
    assert all(InterfaceFlags.STANDBY in InterfaceFlags(p[2]) for p in writes)
    assert sampler.standby_given_up
    assert sampler.stats.cycles >= 40  # sampling was never starved by the re-assertion


async def test_connect_cancelled_mid_open_leaks_no_port(sim: Simulator) -> None:
    for delay in (0.0, 0.0005, 0.001, 0.002, 0.005):
        client = Mk3Client(sim.url)
        opening = asyncio.create_task(client.connect())
        await asyncio.sleep(delay)
        opening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await opening
        await client.close()
        await asyncio.sleep(0.05)
        # The port is exclusively locked while open: a leaked one would refuse this.
        other = Mk3Client(sim.url)
        await other.connect()
        await other.close()


def test_capability_verdicts_and_retries() -> None:
    from custom_components.victron_mk3.vebus_mk3 import capabilities

    capability = capabilities.Capability()
    assert capability.due(0.0)
    # Never answered: not asked every cycle, but again soon (noise may have taken the reply).
    assert capability.unanswered("no answer to F2")
    assert capability.checked_at is not None
    first = capability.checked_at
    assert not capability.due(first + 1)
    assert capability.due(first + capabilities.FIRST_RETRY_AFTER + 0.001)
    # Still no answer: asked half as often each time, down to RETRY_AFTER.
    assert capability.unanswered("no answer to F2")
    assert capability.retry_after == 2 * capabilities.FIRST_RETRY_AFTER
    for _ in range(6):
        capability.unanswered("no answer to F2")
    assert capability.retry_after == capabilities.RETRY_AFTER
    capability.answered()
    assert capability.support is Support.SUPPORTED
    # Once answered, a lost exchange or two is noise; three in a row are not.
    for _ in range(capabilities.NOT_ANSWERING_AFTER - 1):
        assert not capability.unanswered("lost")
    assert capability.support is Support.SUPPORTED
    assert capability.unanswered("lost again")
    assert capability.support is Support.NOT_ANSWERING
    assert capability.retry_after == capabilities.FIRST_RETRY_AFTER
    capability.refused("0x90")
    assert capability.support is Support.UNSUPPORTED
    assert capability.retry_after == capabilities.RETRY_AFTER


async def test_on_a_clean_line_a_changed_state_needs_one_frame(sim: Simulator, client: Mk3Client) -> None:
    """The checksum catches every single bad byte: without corruption seen, no re-read."""
    sampler = Sampler(client, slow_interval=3600, clean_line_after=0.0)
    published: list[DeviceStatus] = []
    async with running(sampler):
        await wait_for_cycles(sampler, 2)
        sampler.add_listener(published.append)
        sim.model.load_w = 1e6  # far above the rating: the overload LED comes on
        async with asyncio.timeout(5):
            while not any(s.leds is not None and Led.OVERLOAD in s.leds.on | s.leds.blink for s in published):
                await asyncio.sleep(0.01)
    assert sampler.stats.confirm_reads == 0


async def test_after_corruption_a_changed_state_is_read_twice(sim: Simulator, client: Mk3Client) -> None:
    sampler = Sampler(client, slow_interval=3600, clean_line_after=3.0)
    async with running(sampler):
        await wait_for_cycles(sampler, 2)
        async with asyncio.timeout(10):
            while not sampler._line_is_clean():
                await asyncio.sleep(0.1)
        sim.faults.noise_probability = 0.2  # garbage bytes between the reply bytes
        await wait_for_cycles(sampler, sampler.stats.cycles + 2)
        sim.faults.noise_probability = 0.0
        sim.model.load_w = 1e6  # seen well within 3 s of the last garbage
        await wait_for_cycles(sampler, sampler.stats.cycles + 3)
    assert client.decoder_stats.skipped_bytes > 0
    assert sampler.stats.confirm_reads >= 1
