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
