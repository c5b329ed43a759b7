"""Asyncio MK3 client: typed commands over the link (a cycle's reads may go together: pipeline.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
import itertools
from typing import Any, TypeVar

from . import requests, unit_requests
from .const import W_LETTERS, ChargeAction, InterfaceFlags, RamVar, SwitchState
from .exceptions import Mk3Error, NoAnswerError, UnsupportedError
from .link import IDLE_TIMEOUT, LinkEvent, Mk3Link
from .messages import ACInfo, ConfigInfo, DCInfo, DeviceStateReport, LedStatus, VersionInfo
from .requests import Request
from .uart import Mk3Protocol
from .unit_requests import UnitInfoFrame
from .variables import RamVarInfo

__all__ = ["IDLE_TIMEOUT", "INFO_FRAME_VARS", "LinkEvent", "Mk3Client"]

T = TypeVar("T")
_NOT_FETCHED: Any = object()

INFO_FRAME_VARS = (
    RamVar.MAINS_VOLTAGE,
    RamVar.MAINS_CURRENT,
    RamVar.INVERTER_VOLTAGE,
    RamVar.INVERTER_CURRENT,
    RamVar.BATTERY_VOLTAGE,
    RamVar.BATTERY_CURRENT,
    RamVar.INVERTER_PERIOD,
    RamVar.MAINS_PERIOD,
)


class Mk3Client(Mk3Link):
    """Talks to an MK3 interface at a device path or serialx URL."""

    def __init__(self, url: str, *, idle_timeout: float = IDLE_TIMEOUT) -> None:
        super().__init__(url, idle_timeout=idle_timeout)
        self.scales: dict[int, RamVarInfo] = {}
        self._letters = itertools.cycle(W_LETTERS)
        # The VE.Bus address W requests go to now (A 1 addr); None = not selected since the
        # port opened or the MK3 may have reset. Selected again only when the target changes.
        self._selected_address: int | None = None
        # The connection (protocol) on which the device answered a multi-id RAM read with
        # fewer values: reads go one id at a time there.
        self._single_ram_reads: Mk3Protocol | None = None
        # Replies fetched ahead (``prefetch``), by request content; each answers one request.
        self._prefetched: dict[bytes, Any] = {}
        # Contents the last prefetch got no reply for; removed when asked alone and answered.
        self.prefetch_missing: set[bytes] = set()
        self.prefetch_lost = 0  # replies the last prefetch did not get
        self.prefetch_recovered = 0  # of those, answered when asked alone

    async def connect(self) -> None:
        """Open the port; raises ``PortInaccessibleError``. A new port needs a new ``A``."""
        connected = self.connected
        await super().connect()
        if not connected:
            self._selected_address = None

    def forget_address(self) -> None:
        """Select the device address again before the next W request (the MK3 may have reset)."""
        self._selected_address = None

    @property
    def selected_address(self) -> int | None:
        """The unit W requests go to now; None until the next selection."""
        return self._selected_address

    # ---- requests sent together -------------------------------------------

    async def prefetch(self, batch: Sequence[Request[Any]], *, read_after: float = 0.0) -> None:
        """Ask ``batch`` in one write; each reply then answers, once and without I/O, the next
        request for the same thing. Unanswered ones are asked again when requested.
        ``read_after``: see ``request_batch``."""
        self.forget_prefetched()
        results = await self.request_batch(batch, read_after=read_after)
        for request, result in zip(batch, results, strict=True):
            key = requests.same_content(request.payload)
            if isinstance(result, NoAnswerError):
                self.prefetch_missing.add(key)
                self.prefetch_lost += 1
            else:
                self._prefetched[key] = result

    def forget_prefetched(self) -> None:
        """Drop replies fetched ahead and not used: they would be stale next time."""
        self._prefetched.clear()
        self.prefetch_missing.clear()
        self.prefetch_lost = self.prefetch_recovered = 0

    async def request(self, request: Request[T]) -> T:
        """A reply fetched ahead answers its request once; otherwise ask the device."""
        if self._prefetched or self.prefetch_missing:
            key = requests.same_content(request.payload)
            result = self._prefetched.pop(key, _NOT_FETCHED)
            if result is not _NOT_FETCHED:
                if isinstance(result, Mk3Error):
                    raise result
                return result  # type: ignore[no-any-return]
            if key in self.prefetch_missing:
                value = await super().request(request)
                self.prefetch_missing.discard(key)
                self.prefetch_recovered += 1
                return value
        return await super().request(request)

    def next_letter(self) -> int:
        """The W letter for the next W-family request (they rotate: a nonce)."""
        return next(self._letters)

    @property
    def reads_ram_one_id_at_a_time(self) -> bool:
        """This connection's device answered a multi-id RAM read with fewer values."""
        return self._single_ram_reads is self._protocol

    # ---- commands ----------------------------------------------------------

    async def get_version(self) -> VersionInfo:
        """Interface firmware version."""
        self.version = await self.request(requests.version())
        return self.version

    async def get_leds(self) -> LedStatus:
        """Front panel indicators."""
        return await self.request(requests.leds())

    async def get_config(self) -> ConfigInfo:
        """Current limits and switch register (slow: about a second)."""
        self.last_config = await self.request(requests.config())
        return self.last_config

    async def get_dc(self) -> DCInfo:
        """Battery voltage and currents, inverter frequency."""
        await self.discover_scales(INFO_FRAME_VARS)
        return await self.request(requests.dc_info(self.scales))

    async def get_ac(self, phase: int = 1) -> ACInfo:
        """AC input/output of one phase (1–4)."""
        await self.discover_scales(INFO_FRAME_VARS)
        return await self.request(requests.ac_info(phase, self.scales))

    async def set_state(self, state: SwitchState, current_limit: float | None) -> None:
        """Set the remote panel state; ``current_limit`` None = leave the limit, <= 0 = minimum.

        The device keeps this setting; never send it without a user asking. "Leave" is the
        limit field 0x8000, which Victron's MK2 protocol document says the device ignores.
        """
        await self.request(requests.set_state(state, current_limit))

    async def get_interface_flags(self) -> InterfaceFlags:
        """Query the MK3 flags (standby, panel detect)."""
        return await self.request(requests.interface_flags())

    async def set_interface_flags(self, flags: InterfaceFlags) -> InterfaceFlags:
        """Write the MK3 flags; returns what the interface reports back."""
        return await self.request(requests.interface_flags(flags))

    async def get_device_state(self) -> DeviceStateReport:
        """VE.Bus device state with the charger's stage (bulk, absorption, float …)."""
        await self._select_address()
        return await self.request(requests.device_state(next(self._letters)))

    async def force_charge_stage(self, action: ChargeAction) -> DeviceStateReport:
        """Force equalise, absorption or float; returns the state the device reports after it."""
        await self._select_address()
        return await self.request(requests.device_state(next(self._letters), action))

    async def get_firmware_version(self, address: int = 0) -> int:
        """The firmware version of the unit at ``address`` (e.g. 2623506: firmware 506).

        Raises ``UnsupportedError`` when the device does not know the command.
        """
        await self._select_address(address)
        low = await self.request(requests.firmware_word(next(self._letters), high=False))
        if low.complete:  # newer devices send the whole version in the first reply
            return low.value
        high = await self.request(requests.firmware_word(next(self._letters), high=True))
        return high.value << 16 | low.value

    async def select_unit(self, address: int) -> None:
        """Send W-family requests to the unit at ``address`` from now on (``A 1 address``,
        only if another unit is selected). Requests of this client that name no address
        select the master (0) again themselves."""
        await self._select_address(address)

    async def _select_address(self, address: int = 0) -> None:
        """``A 1 address`` unless that unit is selected already (one exchange per change)."""
        if self._selected_address != address:
            self._selected_address = None  # unknown until the interface confirms
            await self.request(requests.select_address(address))
            self._selected_address = address

    # ---- multi-unit systems ------------------------------------------------------

    async def get_unit_info(self, address: int = 0) -> UnitInfoFrame:
        """``F 7``: a unit's serial and the system's configured VE.Bus addresses."""
        return await self.request(unit_requests.unit_info(address))

    async def get_phase_unit_count(self, phase: int) -> int:
        """Units on one phase, from the factor byte of its AC info frame."""
        return await self.request(unit_requests.phase_unit_count(phase))

    async def trigger_snapshot(self, var_ids: Iterable[int]) -> None:
        """``F 6``: every unit freezes these variables now (the device sends no reply)."""
        wanted = list(var_ids)
        await self.discover_scales(wanted)
        await self.send_only(unit_requests.snapshot_trigger(wanted))

    async def read_snapshot(self, address: int, var_ids: Iterable[int]) -> dict[int, float | None] | None:
        """The values the unit at ``address`` froze at the last trigger; None = snapshot lost."""
        wanted = list(var_ids)
        await self.discover_scales(wanted)
        await self._select_address(address)
        values = await self.request(unit_requests.read_snapshot(next(self._letters), wanted, self.scales))
        return None if values is None else dict(zip(wanted, values, strict=True))

    async def get_ram_info(self, var_id: int) -> RamVarInfo:
        """Scale and offset of a RAM variable (cached per connection)."""
        await self._select_address()
        info = await self.request(requests.ram_info(next(self._letters), var_id))
        self.scales[var_id] = info
        return info

    async def discover_scales(self, var_ids: Iterable[int]) -> None:
        """Fetch the scales not known yet; unsupported variables are cached too."""
        for var_id in var_ids:
            if var_id not in self.scales:
                await self.get_ram_info(var_id)

    async def read_ram_word(self, var_id: int) -> int:
        """One RAM variable's raw 16-bit word, without asking for a scale (assistant RAM has none).

        Raises ``UnsupportedError`` when the device answers ``0x90``.
        """
        await self._select_address()
        return (await self.request(requests.read_ram(next(self._letters), [var_id])))[0]

    async def write_ram_word(self, var_id: int, raw: int) -> None:
        """Write a RAM variable's raw word with ``0x37``; RAM only, never stored in EEPROM.

        A wrong id is acknowledged too and changes nothing: confirm the effect, not the reply.
        """
        await self._select_address()
        await self.request(requests.write_ram_via_id(next(self._letters), var_id, raw))

    async def read_ram(self, var_ids: Iterable[int], address: int = 0) -> dict[int, float | None]:
        """Physical values of RAM variables of the unit at ``address``; None for unsupported ones.

        A device that answers a multi-id read with fewer values gets the missing ids asked
        one at a time, and from then on (for this connection) every read asks one id.
        """
        wanted = list(var_ids)
        await self.discover_scales(wanted)
        values: dict[int, float | None] = dict.fromkeys(wanted)
        supported = [v for v in wanted if self.scales[v].supported]
        batch = 1 if self.reads_ram_one_id_at_a_time else requests.MAX_RAM_READ
        queue = deque(supported[start : start + batch] for start in range(0, len(supported), batch))
        while queue:
            chunk = queue.popleft()
            await self._select_address(address)
            try:
                raw = await self.request(requests.read_ram(next(self._letters), chunk, self.scales))
            except UnsupportedError:
                if len(chunk) > 1:  # find out which of them the device lacks
                    queue.extendleft([var_id] for var_id in reversed(chunk))
                continue
            for var_id, value in zip(chunk, raw, strict=False):
                values[var_id] = self.scales[var_id].decode(value.to_bytes(2, "little"))
            if len(raw) < len(chunk):
                self._single_ram_reads = self._protocol
                rest = chunk[len(raw) :] + [var_id for later in queue for var_id in later]
                queue = deque([var_id] for var_id in rest)
        return values
