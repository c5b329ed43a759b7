"""How long each request's reply takes, learned, so that a reply costs one wake-up.

The port is not read between sending a request and the moment its whole reply can be there
(``Mk3Protocol.expect_frame``). That moment is learned per request payload (same payload, same
reply length): the median of recent exchanges whose reply was *not* complete when reading
resumed (those measure the real time), lowered a little after every exchange whose reply was
complete (those only say "no later than"), so the estimate keeps probing for a faster device
instead of freezing at a value that was once too long.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
import statistics

# Measured exchanges kept per payload; the median ignores one held up by a busy event loop.
MEASURED = 5
# Needed before predicting: a single slow first exchange must not set the pace.
MEASURED_BEFORE_PREDICTING = 2
# Lowered by this much after each reply that was already complete (seconds).
PROBE_STEP = 0.0002
# Payloads remembered: the sampling plan repeats a handful; writes carrying values (a current
# limit, an ESS setpoint) make new ones without end, so the oldest is forgotten.
REMEMBERED = 64


@dataclass
class _Estimate:
    measured: deque[float] = field(default_factory=lambda: deque(maxlen=MEASURED))
    complete_since_measured: int = 0


class ReplyTimes:
    """Per request payload: seconds from sending it until its whole reply has arrived."""

    def __init__(self) -> None:
        self._estimates: dict[bytes, _Estimate] = {}

    def predict(self, payload: bytes) -> float | None:
        """When to read the reply to ``payload``; None while there is too little to go on."""
        estimate = self._estimates.get(payload)
        if estimate is None or len(estimate.measured) < MEASURED_BEFORE_PREDICTING:
            return None
        median = statistics.median(estimate.measured)
        return max(0.0, median - estimate.complete_since_measured * PROBE_STEP)

    def learn(self, payload: bytes, took: float, *, complete_when_read: bool) -> None:
        """One exchange: ``took`` seconds; ``complete_when_read``: the predicted read had it all."""
        estimate = self._estimates.get(payload)
        if estimate is None:
            if len(self._estimates) >= REMEMBERED:
                del self._estimates[next(iter(self._estimates))]
            estimate = self._estimates[payload] = _Estimate()
        if complete_when_read:
            estimate.complete_since_measured += 1
        else:
            estimate.measured.append(took)
            estimate.complete_since_measured = 0

    def __len__(self) -> int:
        """Payloads remembered."""
        return len(self._estimates)

    def clear(self) -> None:
        """A new connection: another device or adapter may answer at another pace."""
        self._estimates.clear()
