"""The simulator: one MK3 + MultiPlus II reachable through a pty and/or TCP, in the caller's loop.

Requests from every port go through one queue, in order, like the single real interface; replies
return to the port that asked, unsolicited frames go to all. Sleep, interface reset, pacing and
fault injection live here; protocol content lives in ``device``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import math
import random
from types import TracebackType
from typing import Self

from ..const import MK2_FRAME
from .device import Mk3Device
from .model import MultiplusModel
from .profiles import DEFAULT_PROFILE, make_model
from .transport import BYTE_TIME, Port, PtyPort, TcpPort

VERSION_INTERVAL = 1.0  # unsolicited version frame period while idle
BUSY_WINDOW = 1.0  # a request within this many seconds pauses the version frames
SLEEP_DELAY = 3.0  # switched off, no AC, no standby → silent after this long
RESET_TIME = 0.5  # R: the interface is deaf and mute for this long
TICK = 0.1  # model/sleep bookkeeping period
# A frame whose first byte no client knows (protocol.md: VE.Bus echoes and broadcasts occur).
FOREIGN_FRAME = bytes((0xE4, 0x01, 0x00, 0x55, 0x00))


@dataclass
class Faults:
    """Fault injection; change the attributes at any time.

    A bad line mostly corrupts bytes rather than adding them: ``flip_probability`` and
    ``request_flip_probability`` replace a byte by a different random one, per byte, in each
    direction. A flipped request fails the device's checksum and gets no reply, like the real
    thing. Flips draw from their own seeded generators (one per direction), so a run is
    reproducible whatever the timing between the two directions.
    """

    noise_probability: float = 0.0  # per output byte: a random byte is inserted before it
    flip_probability: float = 0.0  # per output byte (device → host): replaced by another value
    request_flip_probability: float = 0.0  # per input byte (host → device), before decoding
    drop_probability: float = 0.0  # per reply frame
    drop_next: int = 0  # drop this many upcoming reply frames
    reply_delay: float = 0.0  # seconds added before each reply frame (the queue waits too)
    foreign_frame_interval: float = 0.0  # > 0: broadcast FOREIGN_FRAME this often


def _flip(data: bytes, probability: float, rng: random.Random) -> tuple[bytes, int]:
    """Replace each byte by a different random value with ``probability``; returns the count."""
    if probability <= 0:
        return data, 0
    out = bytearray(data)
    flipped = 0
    for index in range(len(out)):
        if rng.random() < probability:
            out[index] ^= rng.randrange(1, 256)  # XOR with non-zero: any other value, uniformly
            flipped += 1
    return bytes(out), flipped


def _letter(letter: bytes | str | int) -> int:
    if isinstance(letter, int):
        return letter
    return ord(letter) if isinstance(letter, str) else letter[0]


class Simulator:
    """Simulated MK3-USB interface with a MultiPlus II behind it."""

    def __init__(
        self,
        model: MultiplusModel | None = None,
        link: str | None = None,
        tcp_port: int | None = None,
        *,
        pty: bool | None = None,
        tcp_host: str = "127.0.0.1",
        paced: bool = False,
        seed: int | None = 1,
        time_scale: float = 1.0,
        sleep_delay: float = SLEEP_DELAY,
        version_interval: float = VERSION_INTERVAL,
        faults: Faults | None = None,
        profile: str | None = None,
        usb_latency: float | None = None,
    ) -> None:
        """``profile``: a name from ``profiles.PROFILES`` instead of ``model`` (not both).

        ``usb_latency``: when paced, deliver the 2400-baud byte stream in chunks every this many
        seconds, as a USB-serial chip does with its latency timer (FTDI default 0.016); None
        delivers byte by byte. Unpaced output is written at once either way.
        """
        if model is not None and profile is not None:
            raise ValueError("give a model or a profile, not both")
        if model is None:
            model = make_model(profile or DEFAULT_PROFILE)
        self.model = model
        self.device = Mk3Device(self.model)
        self.faults = faults if faults is not None else Faults()
        self.paced = paced
        self.usb_latency = usb_latency
        self.time_scale = time_scale
        self.sleep_delay = sleep_delay
        self.version_interval = version_interval
        self.busy_window = BUSY_WINDOW
        self.reset_time = RESET_TIME
        self.rng = random.Random(seed)
        self._reply_line_rng = random.Random(None if seed is None else f"{seed}:reply-line")
        self._request_line_rng = random.Random(None if seed is None else f"{seed}:request-line")
        self.reply_bytes_flipped = 0
        self.request_bytes_flipped = 0
        self.received: list[bytes] = []  # every request payload the host sent, in order
        self.versions_sent = 0  # unsolicited version frames
        self.replies_dropped = 0
        self.requests_ignored = 0  # arrived while another was handled (quirk one_request_at_a_time)
        self._handling = False
        use_pty = pty if pty is not None else (link is not None or tcp_port is None)
        self.pty: PtyPort | None = PtyPort(self, link) if use_pty else None
        self.tcp: TcpPort | None = TcpPort(self, tcp_port, tcp_host) if tcp_port is not None else None
        self._requests: asyncio.Queue[tuple[Port, bytes, float]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._asleep = False
        self._off_since: float | None = None
        self._last_request = -math.inf
        self._reset_until = -math.inf
        self._last_sync: float | None = None

    # --- public API ----------------------------------------------------------------------

    @property
    def ports(self) -> list[Port]:
        return [port for port in (self.pty, self.tcp) if port is not None]

    @property
    def url(self) -> str:
        """Where a client opens the interface: the pty symlink (or tty), else the TCP URL."""
        return self.pty.url if self.pty is not None else self.tcp_url or ""

    @property
    def tcp_url(self) -> str | None:
        return self.tcp.url if self.tcp is not None else None

    @property
    def asleep(self) -> bool:
        return self._asleep

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()
        self._requests = asyncio.Queue()
        self._last_sync = loop.time()
        try:
            for port in self.ports:
                await port.start()
        except BaseException:
            await self._stop_ports()
            raise
        for name, coro in (("work", self._work), ("tick", self._tick), ("version", self._versions)):
            self._tasks.append(loop.create_task(coro(), name=f"mk3-sim-{name}"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._stop_ports()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def unplug(self) -> None:
        """Pull the USB cable: the pty master closes and its symlink goes; TCP stops listening."""
        for port in self.ports:
            await port.unplug()

    async def replug(self) -> None:
        """Plug it back in: a new pty behind the same symlink; TCP listens on the same port."""
        for port in self.ports:
            await port.replug()

    def count(self, letter: bytes | str | int) -> int:
        """How many MK2 requests with this command letter the host sent."""
        code = _letter(letter)
        return sum(1 for p in self.received if len(p) >= 2 and p[0] == MK2_FRAME and p[1] == code)

    @property
    def letters(self) -> list[str]:
        """Command letters of all MK2 requests, in order."""
        return [chr(p[1]) for p in self.received if len(p) >= 2 and p[0] == MK2_FRAME]

    def clear_received(self) -> None:
        self.received.clear()

    # --- port callbacks ------------------------------------------------------------------

    def on_request(self, port: Port, payload: bytes) -> None:
        now = asyncio.get_running_loop().time()
        self.received.append(payload)
        if not self.model.winmon_mode:
            # In long-frame mode short commands are ignored: they don't keep the interface busy.
            self._last_request = now
        if self._requests is None:
            return
        if self.model.quirks.one_request_at_a_time and (self._handling or not self._requests.empty()):
            self.requests_ignored += 1
            return
        self._requests.put_nowait((port, payload, now))

    def encode(self, payload: bytes) -> bytes:
        """The frame as the interface puts it on the wire (framing may depend on its mode)."""
        return self.device.encode(payload)

    def corrupt_request(self, data: bytes) -> bytes:
        """Host → device bytes as they arrive over a bad line (before frame decoding)."""
        flipped, count = _flip(data, self.faults.request_flip_probability, self._request_line_rng)
        self.request_bytes_flipped += count
        return flipped

    def noisify(self, data: bytes) -> bytes:
        """Device → host bytes of one frame as they arrive over a bad line."""
        data, count = _flip(data, self.faults.flip_probability, self._reply_line_rng)
        self.reply_bytes_flipped += count
        probability = self.faults.noise_probability
        if probability <= 0:
            return data
        out = bytearray()
        for byte in data:
            if self.rng.random() < probability:
                out.append(self.rng.randrange(256))
            out.append(byte)
        return bytes(out)

    # --- internals -----------------------------------------------------------------------

    async def _stop_ports(self) -> None:
        for port in self.ports:
            await port.stop()

    def _silent(self) -> bool:
        """Asleep (no VE.Bus power) or restarting after R: nothing goes in or out."""
        return self._asleep or asyncio.get_running_loop().time() < self._reset_until

    def _sync_model(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._last_sync is not None:
            self.model.advance((now - self._last_sync) * self.time_scale)
            if self.model.ess is not None:
                self.model.ess.advance(now - self._last_sync)  # its timeout runs in real time
        self._last_sync = now

    def _drop_reply(self) -> bool:
        if self.faults.drop_next > 0:
            self.faults.drop_next -= 1
        elif not (self.faults.drop_probability > 0 and self.rng.random() < self.faults.drop_probability):
            return False
        self.replies_dropped += 1
        return True

    async def _work(self) -> None:
        """Handle requests one at a time, in arrival order, over all ports."""
        assert self._requests is not None
        loop = asyncio.get_running_loop()
        while True:
            port, payload, arrival = await self._requests.get()
            self._handling = True
            try:
                await self._handle(loop, port, payload, arrival)
            finally:
                self._handling = False

    async def _handle(
        self, loop: asyncio.AbstractEventLoop, port: Port, payload: bytes, arrival: float
    ) -> None:
        """One request: wire time, the device's turnaround, the reply frames."""
        if self.paced:
            # The request occupies the wire for its own length before the device has it.
            await asyncio.sleep(max(0.0, arrival + (len(payload) + 2) * BYTE_TIME - loop.time()))
        if self._silent():
            return
        self._sync_model()
        response = self.device.handle(payload)
        if self.paced:
            await asyncio.sleep(response.turnaround)
        if response.reset:
            self.model.interface_power_lost()
            self._reset_until = loop.time() + self.reset_time
            return
        for frame in response.frames:
            if self._drop_reply():
                continue
            if self.faults.reply_delay > 0:
                await asyncio.sleep(self.faults.reply_delay)
            if self._silent():
                break
            port.send(frame)

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last_foreign = loop.time()
        while True:
            await asyncio.sleep(TICK)
            self._sync_model()
            self._update_sleep()
            interval = self.faults.foreign_frame_interval
            if interval > 0 and loop.time() - last_foreign >= interval and not self._silent():
                last_foreign = loop.time()
                for port in self.ports:
                    port.send(FOREIGN_FRAME)

    def _update_sleep(self) -> None:
        now = asyncio.get_running_loop().time()
        if not self.model.wants_sleep():
            self._off_since = None
            self._asleep = False
            return
        if self._off_since is None:
            self._off_since = now
        if not self._asleep and now - self._off_since >= self.sleep_delay:
            self._asleep = True
            self.model.interface_power_lost()
            for port in self.ports:
                port.clear_output()

    async def _versions(self) -> None:
        """Once per interval while idle; a request postpones it by the busy window."""
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        while True:
            due = max(last_sent + self.version_interval, self._last_request + self.busy_window)
            delay = due - loop.time()
            if delay > 0:
                # Re-evaluate at least every tick: a request or a new interval may move "due".
                await asyncio.sleep(min(delay, TICK))
                continue
            last_sent = loop.time()
            if self._silent():
                continue
            self.versions_sent += 1
            frame = self.device.version_frame()
            for port in self.ports:
                port.send(frame)


async def run_simulator(
    link: str | None = None,
    tcp_port: int | None = None,
    paced: bool = False,
    profile: str = DEFAULT_PROFILE,
    usb_latency: float | None = None,
) -> None:
    """Run a simulator until cancelled, printing where it listens (for ``cli.py simulate``)."""
    sim = Simulator(
        link=link, tcp_port=tcp_port, paced=paced, seed=None, profile=profile, usb_latency=usb_latency
    )
    async with sim:
        if sim.pty is not None:
            target = f" -> {sim.pty.tty_name}" if sim.pty.link else ""
            print(f"Simulated {profile} on {sim.pty.url}{target}", flush=True)
        if sim.tcp_url is not None:
            print(f"Simulated {profile} on {sim.tcp_url}", flush=True)
        print(f"{'Paced at 2400 baud' if paced else 'Unpaced'}; Ctrl+C to stop", flush=True)
        await asyncio.Event().wait()
