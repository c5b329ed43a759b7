"""A cycle's reads in one write: the event loop wakes once per cycle instead of once per reply.

Waking the event loop is most of what a sampling cycle costs in CPU (measured on a small VM:
the bare wake-up of an idle asyncio loop after a few hundred milliseconds asleep costs more
than everything done with the replies). So the requests of a cycle that every device answers
(LEDs, DC, AC per phase, the power variables) are sent together and their replies read in one
go; the sampler's own reads then find them fetched ahead (``Mk3Client.prefetch``), and ask
again, one at a time, for whatever did not come.

Whether a real interface takes requests back to back is not documented: Victron's own driver
(velib) keeps one request in flight, and protocol.md only says commands are handled one at a
time, in order. So it is tried and watched. A batch that loses replies which the device then
gives when asked alone is evidence against it; after ``GIVE_UP_AFTER`` such batches in a row the
capability is refused and every request goes alone, until the capability is due again (after a
reconnect, or ``RETRY_AFTER``), when a single such batch refuses it again. A noisy line loses
replies too, but rarely in so many batches in a row while every re-ask succeeds, and the cost of
a wrong verdict is CPU, never data.
"""

from __future__ import annotations

from collections.abc import Sequence
import time
from typing import Any

from . import requests
from .capabilities import Capability
from .client import INFO_FRAME_VARS, Mk3Client
from .requests import Request

# Batches in a row whose missing replies all came when asked alone.
GIVE_UP_AFTER = 10


class CyclePipeline:
    """Sends a cycle's reads together while the device answers them that way."""

    def __init__(self, capability: Capability) -> None:
        self.capability = capability
        self.suspicious = 0  # batches in a row that lost replies the device gave when asked alone
        self._asked = False  # this cycle sent a batch

    async def prefetch(
        self, client: Mk3Client, phases: Sequence[int], ram_vars: Sequence[int], *, read_after: float = 0.0
    ) -> bool:
        """Fetch this cycle's reads ahead in one write, when the device takes them that way.

        ``phases`` and ``ram_vars``: only what the device is known to answer (a request it
        ignores would hold the whole batch up to its timeout). ``read_after``: the replies are
        read then, not earlier (the cycle's pace), so the cycle costs one wake-up. True when
        a batch went out and not one of its replies came.
        """
        client.forget_prefetched()
        self._asked = False
        if not self.capability.due(time.monotonic()):
            return False
        batch = cycle_batch(client, phases, ram_vars)
        if len(batch) < 2:
            return False
        self._asked = True
        await client.prefetch(batch, read_after=read_after)
        return client.prefetch_lost == len(batch)

    def cycle_done(self, client: Mk3Client) -> None:
        """Judge the cycle's batch by what its re-asked requests got, then drop what is left."""
        if not self._asked:
            return
        self._asked = False
        if client.prefetch_lost == 0:
            self.suspicious = 0
            self.capability.answered()
        elif client.prefetch_recovered and not client.prefetch_missing:
            # Every reply the batch lost came when asked alone.
            self.suspicious += 1
            if self.suspicious >= GIVE_UP_AFTER:
                self.capability.refused(
                    f"{GIVE_UP_AFTER} batches in a row lost replies that came when asked alone;"
                    " one request at a time"
                )
                self.suspicious = GIVE_UP_AFTER - 1  # when tried again, one such batch is enough
        client.forget_prefetched()


def cycle_batch(client: Mk3Client, phases: Sequence[int], ram_vars: Sequence[int]) -> list[Request[Any]]:
    """The cycle's reads that can go together now; empty until the scales are known.

    Measurements first, states last: the states (LEDs, device state, mains) are then the freshest
    values of the batch when it is read, which keeps a change's way to Home Assistant short.
    """
    scales = client.scales
    if any(var_id not in scales for var_id in INFO_FRAME_VARS):
        return []  # the first reads discover them, one at a time
    batch: list[Request[Any]] = []
    supported = [var_id for var_id in ram_vars if var_id in scales and scales[var_id].supported]
    if (
        supported
        and len(supported) == len(ram_vars)
        and len(supported) <= requests.MAX_RAM_READ
        and client.selected_address == 0
        and not client.reads_ram_one_id_at_a_time
    ):
        batch.append(requests.read_ram(client.next_letter(), supported, scales))
    batch.append(requests.dc_info(scales))
    batch.append(requests.leds())
    batch.extend(requests.ac_info(phase, scales) for phase in phases)
    return batch
