"""The domain model: aggregates and the events they record.

Aggregates check invariants, then record events named in the past tense. Every event
carries the app it concerns, the authenticated actor, and the request id, so the
global log alone answers who did what, when and why. Event topics are explicit and
stable (``ledger:<Type>``): the stored log never depends on module paths.
"""

from ledger.domain.app import App, EnvReason
from ledger.domain.base import LedgerEvent, Meta, event_type
from ledger.domain.build import Build
from ledger.domain.key import Key
from ledger.domain.promotion import Promotion, PromotionStatus
from ledger.domain.records import Rack, RequestRecord
from ledger.domain.release import Release, ReleaseReason
from ledger.domain.rollout import Cause, CauseKind, StepKind

__all__ = [
    "App",
    "Build",
    "Cause",
    "CauseKind",
    "EnvReason",
    "Key",
    "LedgerEvent",
    "Meta",
    "Promotion",
    "PromotionStatus",
    "Rack",
    "Release",
    "ReleaseReason",
    "RequestRecord",
    "StepKind",
    "event_type",
]
