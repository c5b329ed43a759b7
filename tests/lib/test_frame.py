"""Frame codec: round trips and resynchronisation after garbage."""

from __future__ import annotations

from hypothesis import assume, given, settings, strategies as st
import pytest

from custom_components.victron_mk3.vebus_mk3.frame import (
    MAX_PAYLOAD_LENGTH,
    FrameDecoder,
    checksum,
    encode_frame,
)

from .helpers import ambiguous

payloads = st.binary(min_size=1, max_size=MAX_PAYLOAD_LENGTH)


def test_encode_real_version_frame() -> None:
    """The capture from a real MK3 in protocol.md encodes byte for byte."""
    assert encode_frame(bytes.fromhex("FF5628DB110042")) == bytes.fromhex("07FF5628DB1100424E")


def test_encode_rejects_empty_and_oversized_payloads() -> None:
    with pytest.raises(ValueError, match="payload must be"):
        encode_frame(b"")
    with pytest.raises(ValueError, match="payload must be"):
        encode_frame(bytes(MAX_PAYLOAD_LENGTH + 1))


@given(st.lists(payloads, min_size=1, max_size=8))
def test_round_trip(frames: list[bytes]) -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"".join(encode_frame(p) for p in frames)) == frames
    assert decoder.pending == 0
    assert decoder.stats.skipped_bytes == 0


@given(st.lists(payloads, min_size=1, max_size=6), st.data())
def test_byte_by_byte_delivery(frames: list[bytes], data: st.DataObject) -> None:
    """Frames split at arbitrary points decode the same."""
    stream = b"".join(encode_frame(p) for p in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    out: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    assert out == frames


@settings(max_examples=500)
@given(st.binary(max_size=40), payloads)
def test_garbage_before_frame_never_loses_it(garbage: bytes, payload: bytes) -> None:
    """After any garbage, a valid frame is found once the stream goes quiet."""
    assume(not ambiguous(garbage, encode_frame(payload)))
    decoder = FrameDecoder()
    out = decoder.feed(garbage + encode_frame(payload))
    while decoder.pending:
        out += decoder.discard_stalled()
    assert out[-1] == payload


def test_bad_checksum_is_skipped_and_counted() -> None:
    good = encode_frame(b"\xffL\x01\x00")
    corrupt = bytearray(good)
    corrupt[-1] ^= 0xFF
    decoder = FrameDecoder()
    assert decoder.feed(bytes(corrupt) + good) == [b"\xffL\x01\x00"]
    assert decoder.stats.bad_checksums >= 1


def test_truncated_frame_followed_by_good_frame() -> None:
    good = encode_frame(b"\xffV\x28\xdb\x11\x00\x42")
    decoder = FrameDecoder()
    out = decoder.feed(good[:5] + good)
    out += decoder.discard_stalled() if decoder.pending else []
    assert out == [good[1:-1]]


def test_garbage_length_byte_does_not_hold_back_frames() -> None:
    """A length byte promising 31 bytes waits, but the stall flush releases the frame behind it."""
    good = encode_frame(b"\xffS")
    decoder = FrameDecoder()
    assert decoder.feed(b"\x1f" + good) == []
    assert decoder.discard_stalled() == [b"\xffS"]
    assert decoder.pending == 0


def test_checksum_definition() -> None:
    assert (3 + sum(b"\xffH\x02") + checksum(3, b"\xffH\x02")) & 0xFF == 0


# ---- LED status appended (length byte top bit) ---------------------------------------------

leds = st.tuples(st.integers(0, 255), st.integers(0, 255))
Leds = tuple[int, int]


def test_led_appended_frame_layout_and_checksum() -> None:
    """``L|0x80``, payload, on, blink, checksum over all of it, the length byte as sent."""
    frame = encode_frame(b"\xffV\x28\xdb\x11\x00\x42", leds=(0x01, 0x08))
    assert frame[0] == 0x87
    assert frame[-3:-1] == b"\x01\x08"
    assert sum(frame) & 0xFF == 0
    decoder = FrameDecoder()
    assert decoder.feed(frame) == [b"\xffV\x28\xdb\x11\x00\x42"]
    assert (decoder.stats.led_frames, decoder.stats.appended_leds) == (1, (0x01, 0x08))
    assert decoder.stats.frames == 1


def test_led_frame_checksummed_without_the_flag_is_rejected() -> None:
    """The checksum covers the length byte as sent: one computed over ``L`` alone is wrong."""
    payload, on_blink = b"\xffL\x01\x00", b"\x01\x00"
    wrong = bytes((0x80 | len(payload), *payload, *on_blink, checksum(len(payload), payload + on_blink)))
    decoder = FrameDecoder()
    assert decoder.feed(wrong) == []
    assert decoder.stats.led_frames == 0


@given(st.lists(st.tuples(payloads, st.none() | leds), min_size=1, max_size=8), st.data())
def test_mixed_plain_and_led_frames_byte_by_byte(
    frames: list[tuple[bytes, tuple[int, int] | None]], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(payload, led) for payload, led in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    out: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    assert out == [payload for payload, _ in frames]
    with_leds = [led for _, led in frames if led is not None]
    assert decoder.stats.led_frames == len(with_leds)
    assert decoder.stats.appended_leds == (with_leds[-1] if with_leds else None)
    assert decoder.stats.skipped_bytes == 0


@settings(max_examples=500)
@given(st.binary(max_size=40), payloads, leds)
def test_garbage_before_led_frame_never_loses_it(
    garbage: bytes, payload: bytes, led: tuple[int, int]
) -> None:
    frame = encode_frame(payload, led)
    assume(not ambiguous(garbage, frame))
    decoder = FrameDecoder()
    out = decoder.feed(garbage + frame)
    while decoder.pending:
        out += decoder.discard_stalled()
    assert out[-1] == payload
    assert decoder.stats.appended_leds == led


def test_led_length_byte_without_payload_is_garbage() -> None:
    """0x80 (no payload) and 0xA1+ (payload too long) are skipped like any bad length."""
    good = encode_frame(b"\xffS")
    decoder = FrameDecoder()
    assert decoder.feed(b"\x80\xa1\xff" + good) == [b"\xffS"]
    assert decoder.stats.skipped_bytes == 3
