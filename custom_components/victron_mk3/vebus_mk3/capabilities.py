"""What a device can do, learned by asking: supported, unsupported or not answering, and why.

Everything beyond the core of a reading (LEDs, DC, AC of L1, the config frame) is optional:
older firmware, MK2 interfaces and single-phase units lack parts of it. A capability records
what the device said, so the sampler asks again only when it is worth it (after a reconnect
and every ``RETRY_AFTER`` seconds) and never lets a missing feature fail a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
import time

# A capability that stopped answering is asked again after FIRST_RETRY_AFTER, then after twice
# as long each time it still does not answer, up to RETRY_AFTER; an unsupported one after
# RETRY_AFTER (and after every reconnect).
FIRST_RETRY_AFTER = 30.0
RETRY_AFTER = 300.0
# Unanswered exchanges in a row (each already retried once by the client) before a feature
# that did answer counts as not answering: a noisy line loses one or two now and then.
NOT_ANSWERING_AFTER = 3


class Support(StrEnum):
    """What is known about one optional feature."""

    UNKNOWN = "unknown"  # not tried on this connection yet
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"  # the device said so (0x80/0x90, scale 0)
    NOT_ANSWERING = "not_answering"  # asked repeatedly, no reply


class Feature(StrEnum):
    """Optional features; their values come from these requests."""

    FIRMWARE_VERSION = "firmware_version"  # W 0x05/0x06
    INTERFACE_FLAGS = "interface_flags"  # H (MK3 only)
    CHARGE_STAGE = "charge_stage"  # W 0x0E
    STATE_OF_CHARGE = "state_of_charge"  # RAM 13 (battery monitor)
    POWER = "power"  # RAM 14-16
    PHASE_2 = "phase_2"  # F 2
    PHASE_3 = "phase_3"  # F 3
    PHASE_4 = "phase_4"  # F 4
    PIPELINED_READS = "pipelined_reads"  # a cycle's requests in one write (pipeline.py)


PHASE_FEATURES = {2: Feature.PHASE_2, 3: Feature.PHASE_3, 4: Feature.PHASE_4}


@dataclass
class Capability:
    """One feature's state, with the reason a user or maintainer reads in diagnostics."""

    support: Support = Support.UNKNOWN
    reason: str = ""
    checked_at: float | None = None  # monotonic time of the last verdict
    misses: int = 0  # unanswered attempts in a row
    retry_after: float = RETRY_AFTER

    def due(self, now: float) -> bool:
        """True when the feature should be asked for now."""
        if self.support in (Support.UNKNOWN, Support.SUPPORTED):
            return True
        return self.checked_at is None or now - self.checked_at >= self.retry_after

    def answered(self) -> None:
        self._verdict(Support.SUPPORTED, "")

    def refused(self, reason: str) -> None:
        self._verdict(Support.UNSUPPORTED, reason)

    def unanswered(self, reason: str) -> bool:
        """Count a lost reply; True when the feature now counts as not answering."""
        self.misses += 1
        if self.support is Support.SUPPORTED and self.misses < NOT_ANSWERING_AFTER:
            return False
        # Not asked every cycle any more (each try costs a timeout), but soon again in case
        # noise took the answers, then less and less often.
        again = self.support is Support.NOT_ANSWERING
        retry_after = min(2 * self.retry_after, RETRY_AFTER) if again else FIRST_RETRY_AFTER
        self._verdict(Support.NOT_ANSWERING, reason, misses=self.misses)
        self.retry_after = retry_after
        return True

    def _verdict(self, support: Support, reason: str, *, misses: int = 0) -> None:
        self.support, self.reason, self.misses = support, reason, misses
        self.checked_at = time.monotonic()
        self.retry_after = RETRY_AFTER


@dataclass
class Capabilities:
    """Every optional feature of one device, as learned on this link."""

    features: dict[Feature, Capability] = field(
        default_factory=lambda: {feature: Capability() for feature in Feature}
    )

    def __getitem__(self, feature: Feature) -> Capability:
        return self.features[feature]

    def supported(self, feature: Feature) -> bool:
        return self.features[feature].support is Support.SUPPORTED

    def retry_all(self) -> None:
        """After a reconnect the device may be another one (or updated): ask everything again."""
        for capability in self.features.values():
            if capability.support is not Support.SUPPORTED:
                capability.checked_at = None

    def as_dict(self) -> dict[str, dict[str, str]]:
        """For diagnostics: feature → support and reason."""
        return {
            feature.value: {"support": cap.support.value, "reason": cap.reason}
            for feature, cap in self.features.items()
        }
