"""Byte transports of the simulated interface: a pseudo-terminal behind a stable symlink, and TCP.

Each port decodes request frames for the simulator and writes reply bytes, optionally paced at
the real 2400 baud. Frames are queued whole, so two frames never interleave on the wire.

Paced output can also be delivered the way a USB-serial chip hands it to the host: an FTDI chip
collects received bytes and sends them when its latency timer expires (16 ms by default) or its
USB packet is full (62 data bytes). With ``usb_latency`` set the wire keeps its 2400-baud
schedule, but bytes reach the pty only on a ``usb_latency`` grid, in chunks. The packet-full flush
is not modelled: at 2400 baud 62 bytes take 258 ms, far longer than any usual latency timer.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
import itertools
import math
import os
import tty
from typing import Protocol

from ..const import BAUDRATE
from ..frame import FrameDecoder

BYTE_TIME = 10 / BAUDRATE  # start + 8 data + stop bits ≈ 4.17 ms
FTDI_LATENCY = 0.016  # an FTDI chip's default latency timer, for ``usb_latency``
_READ_SIZE = 4096
_tmp_names = itertools.count()


class PortOwner(Protocol):
    """What a port needs from the simulator."""

    @property
    def paced(self) -> bool: ...

    @property
    def usb_latency(self) -> float | None: ...

    def on_request(self, port: Port, payload: bytes) -> None: ...

    def encode(self, payload: bytes) -> bytes: ...

    def noisify(self, data: bytes) -> bytes: ...

    def corrupt_request(self, data: bytes) -> bytes: ...


class Port:
    """Output queue with optional pacing, and frame decoding of the input."""

    def __init__(self, owner: PortOwner) -> None:
        self._owner = owner
        self._queue: deque[tuple[bytes, float]] = deque()  # encoded frame, time queued
        self._wake: asyncio.Event | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._line_free_at = 0.0
        self.bytes_written = 0

    @property
    def is_open(self) -> bool:
        raise NotImplementedError

    @property
    def url(self) -> str:
        raise NotImplementedError

    async def _open(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._wake = asyncio.Event()
        await self._open()
        self._pump_task = asyncio.get_running_loop().create_task(self._pump(), name=f"mk3-sim-{self.url}")

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
            self._pump_task = None
        self._queue.clear()
        await self._close()

    async def unplug(self) -> None:
        self._queue.clear()
        await self._close()

    async def replug(self) -> None:
        if not self.is_open:
            await self._open()

    def send(self, payload: bytes) -> None:
        """Queue one frame; dropped while unplugged (nobody is on the other end)."""
        if not self.is_open or self._wake is None:
            return
        now = asyncio.get_running_loop().time()
        self._queue.append((self._owner.encode(payload), now))
        self._wake.set()

    def clear_output(self) -> None:
        """Forget frames not yet started (the interface lost power)."""
        self._queue.clear()

    def _deliver(self, decoder: FrameDecoder, data: bytes) -> None:
        for payload in decoder.feed(self._owner.corrupt_request(data)):
            self._owner.on_request(self, payload)

    async def _pump(self) -> None:
        assert self._wake is not None
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            frame, queued_at = self._queue.popleft()
            data = self._owner.noisify(frame)
            if self._owner.paced:
                await self._paced_write(data, queued_at)
            else:
                self._write(data)
            self.bytes_written += len(data)

    async def _paced_write(self, data: bytes, queued_at: float) -> None:
        """Release each byte when its stop bit would have left the wire, on an absolute schedule.

        With a USB latency the frame goes on the wire when it was queued (or when the line frees),
        not when this task gets round to it, and finished bytes are released on the latency grid.
        """
        loop = asyncio.get_running_loop()
        latency = self._owner.usb_latency
        start = max(queued_at if latency else loop.time(), self._line_free_at)
        self._line_free_at = start + len(data) * BYTE_TIME
        sent = 0
        while sent < len(data):
            now = loop.time()
            due = min(len(data), int((now - start) / BYTE_TIME))
            if due > sent:
                self._write(data[sent:due])
                sent = due
            if sent < len(data):
                wake = start + (sent + 1) * BYTE_TIME
                if latency:
                    wake = math.ceil(wake / latency) * latency  # the next latency-timer expiry
                await asyncio.sleep(max(0.0, wake - loop.time()))


def _atomic_symlink(target: str, link: str) -> None:
    """Point ``link`` at ``target`` without a moment where ``link`` is missing."""
    tmp = f"{link}.{os.getpid()}.{next(_tmp_names)}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, link)


class PtyPort(Port):
    """A pseudo-terminal: the client opens the slave (through ``link``), we drive the master.

    We keep our own slave fd open so the master never sees EIO when the client closes, exactly
    like a USB serial port that stays present between client sessions.
    """

    def __init__(self, owner: PortOwner, link: str | None) -> None:
        super().__init__(owner)
        self.link = link
        self.tty_name: str | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._decoder = FrameDecoder()

    @property
    def is_open(self) -> bool:
        return self._master is not None

    @property
    def url(self) -> str:
        return self.link or self.tty_name or ""

    async def _open(self) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            os.set_blocking(master, False)
            os.set_blocking(slave, False)  # only our open file description, not the client's
            name = os.ttyname(slave)
            if self.link is not None:
                _atomic_symlink(name, self.link)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        self._master, self._slave, self.tty_name = master, slave, name
        self._decoder = FrameDecoder()
        asyncio.get_running_loop().add_reader(master, self._on_readable)

    async def _close(self) -> None:
        if self._master is None or self._slave is None:
            return
        asyncio.get_running_loop().remove_reader(self._master)
        os.close(self._master)
        os.close(self._slave)
        self._master = self._slave = None
        if self.link is not None and self.tty_name is not None:
            with contextlib.suppress(OSError):
                if os.readlink(self.link) == self.tty_name:
                    os.unlink(self.link)

    def _on_readable(self) -> None:
        if self._master is None:
            return
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            # Should not happen while we hold the slave; stop watching rather than spin.
            asyncio.get_running_loop().remove_reader(self._master)
            return
        if data:
            self._deliver(self._decoder, data)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        discarded = False
        while view and self._master is not None:
            try:
                view = view[os.write(self._master, view) :]
            except BlockingIOError:
                if discarded:
                    return
                # The pty buffer is full because nobody reads the port: drop the backlog, as
                # bytes sent to a closed real serial port are lost too.
                self._discard_unread()
                discarded = True
            except OSError:
                return

    def _discard_unread(self) -> None:
        if self._slave is None:
            return
        with contextlib.suppress(OSError):
            while os.read(self._slave, _READ_SIZE):
                pass


class _TcpConnection(asyncio.Protocol):
    def __init__(self, port: TcpPort) -> None:
        self._port = port
        self._decoder = FrameDecoder()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._port.connections.add(transport)

    def data_received(self, data: bytes) -> None:
        self._port._deliver(self._decoder, data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._port.connections.discard(self._transport)


class TcpPort(Port):
    """A TCP listener (``socket://host:port``); every connected client hears the interface."""

    def __init__(self, owner: PortOwner, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(owner)
        self.host = host
        self.port = port
        self.connections: set[asyncio.Transport] = set()
        self._server: asyncio.Server | None = None

    @property
    def is_open(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _TcpConnection(self), self.host, self.port, reuse_address=True
        )
        # Port 0 picks a free port; keep it so a replug listens at the same URL.
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for transport in list(self.connections):
            transport.abort()
        self.connections.clear()
        await server.wait_closed()

    def _write(self, data: bytes) -> None:
        for transport in list(self.connections):
            if not transport.is_closing():
                transport.write(data)
