"""The domain model: aggregates and the events they record.

Aggregates check invariants, then record events named in the past tense. Every event
carries the app it concerns, the authenticated actor, and the request id, so the
global log alone answers who did what, when and why. Event topics are explicit and
stable (``ledger:<Type>``): the stored log never depends on module paths.
"""

from ledger.domain.app import App, EnvReason
from ledger.domain.base import LedgerEvent, Meta, event_type
from ledger.domain.build import Build
from ledger.domain.job import Job, JobKind, JobStatus, StepStatus
from ledger.domain.key import Key
from ledger.domain.notification import NotificationTarget
from ledger.domain.promotion import Promotion, PromotionStatus
from ledger.domain.records import DeliveryRecord, Rack, RequestRecord
from ledger.domain.release import Release, ReleaseReason
from ledger.domain.rollout import Cause, CauseKind, StepKind
from ledger.domain.workflow import Hook, PromoteMode, Workflow, WorkflowSettings

__all__ = [
    "App",
    "Build",
    "Cause",
    "CauseKind",
    "DeliveryRecord",
    "EnvReason",
    "Hook",
    "Job",
    "JobKind",
    "JobStatus",
    "Key",
    "LedgerEvent",
    "Meta",
    "NotificationTarget",
    "PromoteMode",
    "Promotion",
    "PromotionStatus",
    "Rack",
    "Release",
    "ReleaseReason",
    "RequestRecord",
    "StepKind",
    "StepStatus",
    "Workflow",
    "WorkflowSettings",
    "event_type",
]
