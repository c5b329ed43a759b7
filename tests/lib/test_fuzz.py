"""Hostile input: random and mutated frames through the decoder and the client's frame path.

A seeded generator (a failure names its case; rerun with the same seed) takes valid frames of
every kind the simulator emits and mangles them: bit flips, truncation, insertion, deletion,
duplication, concatenation, splicing, garbage payloads with a recomputed checksum (they pass
framing and must fail validation), random frames with a known header, and raw noise. Every case
ends with one valid frame, which must still come out of the decoder. The decoded payloads go
through ``Mk3Client._frame_received`` with a request pending, as they would from the port:
nothing may raise, a value that resolves a request must answer that request and be physically
plausible, and every frame that resolves nothing must be counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
import random
import time
from typing import Any

import pytest

from custom_components.victron_mk3.vebus_mk3 import requests
from custom_components.victron_mk3.vebus_mk3.client import Mk3Client
from custom_components.victron_mk3.vebus_mk3.const import W_UNKNOWN_COMMAND, W_UNSUPPORTED
from custom_components.victron_mk3.vebus_mk3.exceptions import UnsupportedError
from custom_components.victron_mk3.vebus_mk3.exchange import Exchange
from custom_components.victron_mk3.vebus_mk3.frame import (
    LED_APPENDED,
    LED_BYTES,
    DecoderStats,
    FrameDecoder,
    encode_frame,
)
from custom_components.victron_mk3.vebus_mk3.requests import Request
from custom_components.victron_mk3.vebus_mk3.variables import RamVarInfo

from .helpers import ambiguous
from .hostile import MUTATIONS, answers, check_plausible, collect_samples, real_scales, request_pool

SEED = 0x4D4B33
CASES = 100_000


# ---- the client's frame path ---------------------------------------------------------------


@dataclass
class Tally:
    frames: int = 0
    bytes: int = 0
    payloads: int = 0
    resolved: int = 0


class ClientHarness:
    """``Mk3Client._frame_received`` with a chosen request pending, as the port would call it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, scales: dict[int, RamVarInfo]) -> None:
        self.loop = loop
        self.client = Mk3Client("fuzz://never-opened")
        self.client.scales = scales
        self.tally = Tally()

    def deliver(self, payload: bytes, request: Request[Any] | None) -> Any:
        """Feed one payload; returns the parsed result when it resolved ``request``, else None."""
        client, stats = self.client, self.client.stats
        all_in: asyncio.Future[None] = self.loop.create_future()
        exchange = Exchange([request], all_in) if request is not None else None
        client._pending = exchange
        before = (stats.invalid_replies, stats.unsolicited)
        try:
            client._frame_received(payload)
        finally:
            client._pending = None
        self.tally.payloads += 1
        if all_in.done():
            assert request is not None
            assert exchange is not None
            assert answers(request, payload), f"{payload.hex(' ')} resolved {request.name}"
            assert (stats.invalid_replies, stats.unsolicited) == before
            result = exchange.results[0]
            if isinstance(result, Exception):
                error = result
                # Only the device's own "unknown command" / "not supported" answers fail a request.
                assert isinstance(error, UnsupportedError), error
                assert payload[2] in (W_UNKNOWN_COMMAND, W_UNSUPPORTED), payload.hex(" ")
                self.tally.resolved += 1
                return error
            check_plausible(request, result, client.scales)
            self.tally.resolved += 1
            return result
        all_in.cancel()
        assert stats.invalid_replies + stats.unsolicited > sum(before), f"{payload.hex(' ')} not counted"
        return None


def feed(decoder: FrameDecoder, rng: random.Random, stream: bytes) -> list[bytes]:
    """Deliver in random chunks, then let the stall timer flush what is left."""
    cuts = sorted(rng.randint(0, len(stream)) for _ in range(rng.randint(0, 3)))
    out: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    while decoder.pending:
        out += decoder.discard_stalled()
    return out


def assert_decoded_from(stream: bytes, payloads: list[bytes]) -> None:
    """Every payload is a checksum-valid frame of the stream, in order, without overlap."""
    position = 0
    for payload in payloads:
        position = _frame_end(stream, payload, position)


def _frame_end(stream: bytes, payload: bytes, position: int) -> int:
    """End of the first valid frame carrying ``payload`` at or after ``position``, LEDs appended or not."""
    for start in range(position, len(stream)):
        if stream.startswith(encode_frame(payload), start):
            return start + len(payload) + 2
        size = len(payload) + 2 + LED_BYTES
        with_leds = stream[start : start + size]
        if (
            with_leds[:1] == bytes((len(payload) | LED_APPENDED,))
            and with_leds[1 : len(payload) + 1] == payload
            and len(with_leds) == size
            and sum(with_leds) & 0xFF == 0
        ):
            return start + size
    raise AssertionError(f"{payload.hex(' ')} is not a valid frame of {stream.hex(' ')}")


def _consumed(payloads: list[bytes], stats: DecoderStats) -> int:
    """Bytes the decoded frames took from the stream: length, payload, LEDs, checksum."""
    return sum(len(p) + 2 for p in payloads) + LED_BYTES * stats.led_frames


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of our own, only to create futures: the test loop runs in debug mode, which
    records a traceback per future and would make 100 000 cases take a minute."""
    own = asyncio.new_event_loop()
    own.set_debug(False)
    yield own
    own.close()


def test_random_and_mutated_frames(loop: asyncio.AbstractEventLoop) -> None:
    """100 000 mangled frames, each followed by a valid one, through the decoder and the client."""
    rng = random.Random(SEED)
    scales = real_scales()
    samples = collect_samples(scales)
    pool = request_pool(scales)
    mutations = [mutation for mutation, _ in MUTATIONS]
    weights = [weight for _, weight in MUTATIONS]
    harness = ClientHarness(loop, scales)
    tally = harness.tally
    ambiguous_cases = 0
    started = time.monotonic()
    for case in range(CASES):
        sample, other, trailer = rng.choice(samples), rng.choice(samples), rng.choice(samples)
        mutation = rng.choices(mutations, weights)[0]
        garbage = mutation(rng, sample.frame, other.frame)
        stream = garbage + trailer.frame
        decoder = FrameDecoder()
        out = feed(decoder, rng, stream)
        context = f"case {case}: {mutation.__name__} {stream.hex(' ')}"

        # (a) the decoder: accounts for every byte, emits only valid frames, resynchronises.
        stats = decoder.stats
        assert _consumed(out, stats) + stats.skipped_bytes == len(stream), context
        assert stats.frames == len(out), context
        assert_decoded_from(stream, out)
        if ambiguous(garbage, trailer.frame):
            ambiguous_cases += 1
        else:
            assert out[-1] == trailer.payload, context

        # (b) the client: the mangled frame meets the request it was meant for (mostly).
        for index, payload in enumerate(out):
            is_trailer = index == len(out) - 1 and payload == trailer.payload
            owner = trailer if is_trailer else sample
            roll = rng.random()
            request = owner.request if roll < 0.75 else None if roll < 0.8 else rng.choice(pool)
            result = harness.deliver(payload, request)
            if is_trailer and request is trailer.request and trailer.valid:
                assert result == trailer.request.parse(payload), context
        tally.frames += 2
        tally.bytes += len(stream)
    elapsed = time.monotonic() - started
    stats = harness.client.stats
    print(
        f"\n{tally.frames} frames ({CASES} mangled + {CASES} valid, {tally.bytes} bytes) in {elapsed:.1f} s;"
        f" {tally.payloads} payloads reached the client: {tally.resolved} resolved a request,"
        f" {stats.invalid_replies} rejected by validation, {stats.unsolicited} unsolicited"
        f" ({stats.unknown_frames} of unknown kinds); {ambiguous_cases} ambiguous cases"
    )
    assert tally.resolved > CASES // 2
    assert stats.invalid_replies > CASES // 20
    assert stats.unknown_frames > 0


def test_replies_only_resolve_the_request_they_answer(loop: asyncio.AbstractEventLoop) -> None:
    """Every frame the simulator emits, offered to every request: only its own request takes it."""
    scales = real_scales()
    samples = collect_samples(scales)
    harness = ClientHarness(loop, scales)
    pool = [request for request in request_pool(scales) if request.payload[1] in (ord("X"), ord("F"))]
    pool += [requests.version(), requests.leds(), requests.interface_flags(), requests.select_address()]
    for sample in samples:
        for request in pool:
            # deliver() asserts that whatever resolves answers the request (letter, phase, kind).
            result = harness.deliver(sample.payload, request)
            if request is sample.request and sample.valid:
                assert result == request.parse(sample.payload)
    assert harness.tally.resolved >= sum(1 for sample in samples if sample.valid and sample.request in pool)
    assert harness.client.stats.unknown_frames == len(pool)  # the foreign frame, each time


def test_one_decoder_across_all_cases() -> None:
    """One long stream instead of a fresh decoder per case: every byte is still accounted for."""
    rng = random.Random(SEED + 1)
    samples = collect_samples(real_scales())
    mutations = [mutation for mutation, _ in MUTATIONS]
    weights = [weight for _, weight in MUTATIONS]
    parts: list[bytes] = []
    for _ in range(5000):
        sample, other = rng.choice(samples), rng.choice(samples)
        parts += [
            rng.choices(mutations, weights)[0](rng, sample.frame, other.frame),
            rng.choice(samples).frame,
        ]
    stream = b"".join(parts)
    decoder = FrameDecoder()
    out = feed(decoder, rng, stream)
    assert _consumed(out, decoder.stats) + decoder.stats.skipped_bytes == len(stream)
    assert_decoded_from(stream, out)
    assert len(out) >= len(parts) // 2 * 0.95  # at most the rare ambiguous resync loses a frame


def test_led_appended_frames_among_mangled_ones() -> None:
    """An interface appending its LEDs: mangled and valid LED-appended frames, one long stream."""
    rng = random.Random(SEED + 2)
    samples = collect_samples(real_scales())
    mutations = [mutation for mutation, _ in MUTATIONS]
    weights = [weight for _, weight in MUTATIONS]
    parts: list[bytes] = []
    valid = 0
    for _ in range(3000):
        sample, other = rng.choice(samples), rng.choice(samples)
        led_frame = encode_frame(sample.payload, leds=(rng.randrange(256), rng.randrange(256)))
        parts.append(rng.choices(mutations, weights)[0](rng, led_frame, other.frame))
        trailer = rng.choice(samples)
        parts.append(encode_frame(trailer.payload, leds=(rng.randrange(256), rng.randrange(256))))
        valid += 1
    stream = b"".join(parts)
    decoder = FrameDecoder()
    out = feed(decoder, rng, stream)
    assert _consumed(out, decoder.stats) + decoder.stats.skipped_bytes == len(stream)
    assert_decoded_from(stream, out)
    assert decoder.stats.led_frames >= valid * 0.95
    assert len(out) >= valid * 0.95
