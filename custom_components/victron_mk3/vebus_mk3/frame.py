"""MK2/MK3 frame codec: ``[L] [payload: L bytes] [C]`` with a zero byte sum.

If the top bit of ``L`` is set, the interface appended its LED status: the frame is
``[L] [payload: L & 0x7F bytes] [LEDs on] [LEDs blink] [C]`` and the checksum covers all
of it (``L`` as sent included). An interface told to do so sends nothing else.

The decoder is a pure state machine: feed it bytes as they arrive and it returns
every complete, checksum-valid payload. Garbage, truncated frames and bad checksums
are skipped one byte at a time so the next good frame is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass

# Longest payload seen in short-frame mode is 15 bytes (info/config frames);
# allow headroom for newer firmware, but keep it small so a garbage length byte
# cannot hold back the frames that follow it for long.
MAX_PAYLOAD_LENGTH = 32
# Length-byte flag: two LED bytes (on, blink) follow the payload.
LED_APPENDED = 0x80
LED_BYTES = 2


def checksum(length: int, payload: bytes) -> int:
    """Return the byte that makes ``length + sum(payload) + checksum`` zero mod 256."""
    return (-(length + sum(payload))) & 0xFF


def encode_frame(payload: bytes, leds: tuple[int, int] | None = None) -> bytes:
    """Wrap ``payload`` in a length byte and checksum; ``leds`` = (on, blink) appends them."""
    if not 0 < len(payload) <= MAX_PAYLOAD_LENGTH:
        raise ValueError(f"payload must be 1..{MAX_PAYLOAD_LENGTH} bytes, got {len(payload)}")
    if leds is None:
        return bytes((len(payload), *payload, checksum(len(payload), payload)))
    length = len(payload) | LED_APPENDED
    body = bytes((*payload, *leds))
    return bytes((length, *body, checksum(length, body)))


@dataclass
class DecoderStats:
    """What the decoder had to throw away; surfaced in diagnostics."""

    frames: int = 0
    skipped_bytes: int = 0
    bad_checksums: int = 0
    # Frames that carried the LED status after their payload, and the newest (on, blink) pair.
    led_frames: int = 0
    appended_leds: tuple[int, int] | None = None


class FrameDecoder:
    """Streaming frame decoder that resynchronises after garbage."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        # Size of the frame at the head of the buffer once its length byte is known, else 0.
        self._head_size = 0
        self.stats = DecoderStats()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    @property
    def missing(self) -> int:
        """Bytes the frame at the head of the buffer still lacks (0 with nothing pending)."""
        return self._head_size - len(self._buffer) if self._buffer else 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the payloads of all complete frames."""
        buffer = self._buffer
        buffer += data
        if len(buffer) < self._head_size:
            return []  # the head frame is still incomplete: nothing to look at yet
        return self._drain()

    def discard_stalled(self) -> list[bytes]:
        """Give up on the partial frame at the head of the buffer.

        Frames travel back to back on the wire, so a partial frame that stops
        growing was really a garbage length byte: drop bytes until a complete
        frame or nothing is left, returning what that uncovers.
        """
        payloads: list[bytes] = []
        while self._buffer and not payloads:
            self._skip(1)
            payloads = self._drain()
        return payloads

    def _skip(self, count: int) -> None:
        del self._buffer[:count]
        self._head_size = 0
        self.stats.skipped_bytes += count

    def _drain(self) -> list[bytes]:
        payloads: list[bytes] = []
        buffer = self._buffer
        self._head_size = 0
        while buffer:
            length = buffer[0] & ~LED_APPENDED
            if not 0 < length <= MAX_PAYLOAD_LENGTH:
                self._skip(1)
                continue
            size = length + 2 + (LED_BYTES if buffer[0] & LED_APPENDED else 0)
            if len(buffer) < size:
                self._head_size = size
                break
            if (sum(buffer[:size]) & 0xFF) != 0:
                self.stats.bad_checksums += 1
                self._skip(1)
                continue
            payloads.append(bytes(buffer[1 : length + 1]))
            if buffer[0] & LED_APPENDED:
                self.stats.appended_leds = (buffer[length + 1], buffer[length + 2])
                self.stats.led_frames += 1
            del buffer[:size]
            self.stats.frames += 1
        return payloads
