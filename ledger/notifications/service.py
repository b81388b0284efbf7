"""Use cases of notification targets: create one (its secret returned once), delete one,
list them and their deliveries.

A target is checked whole before anything is recorded (its URL, its event patterns, its
app and format), so a bad request changes nothing. Its signing secret is made here and
kept in the log encrypted (declared unlisted): the answer to the create call is the only
place it is ever shown.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from eventsourcing.application import AggregateNotFoundError

from ledger.application import Decision, LedgerApplication
from ledger.commands import Outcome
from ledger.domain import Meta, NotificationTarget
from ledger.errors import InvalidArgument, NotFound
from ledger.ids import ALPHABET, ID_LENGTH, new_id
from ledger.notifications.names import check_patterns
from ledger.notifications.ports import TargetDirectory
from ledger.notifications.views import DeliveryView, Format, TargetView

TARGET_KIND = "N"
TARGET_ID = re.compile(rf"^{TARGET_KIND}[{ALPHABET}]{{{ID_LENGTH}}}$")
SECRET_BYTES = 32
MAX_URL = 2000
MAX_DELIVERIES = 500


@dataclass(frozen=True)
class CreateNotificationTarget:
    url: str
    events: tuple[str, ...]
    app: str = ""  # "" for every app
    format: str = Format.JSON.value


@dataclass(frozen=True)
class CreatedTarget:
    """The outcome and the signing secret: ``""`` when a retry was answered from its
    request record (the secret went to the first answer only)."""

    outcome: Outcome
    secret: str


def check_target_id(target_id: str) -> str:
    if not TARGET_ID.fullmatch(target_id):
        raise InvalidArgument(f"{target_id[:40]!r} is not a notification target id")
    return target_id


def check_url(url: str) -> str:
    """An http(s) URL with a host, in one line, no longer than :data:`MAX_URL`."""
    if len(url) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidArgument(f"invalid URL: at most {MAX_URL} characters, no spaces")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise InvalidArgument(f"invalid URL {url[:60]!r}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidArgument(f"invalid URL {url[:60]!r}: use http:// or https:// and a host")
    return url


def check_format(value: str) -> Format:
    try:
        return Format(value or Format.JSON.value)
    except ValueError:
        valid = ", ".join(f.value for f in Format)
        raise InvalidArgument(f"invalid format {value[:20]!r}: use one of {valid}") from None


class NotificationService:
    """Create, delete and list notification targets; each change an audited event."""

    def __init__(self, ledger: LedgerApplication, directory: TargetDirectory) -> None:
        self.ledger = ledger
        self.directory = directory

    def create(self, command: CreateNotificationTarget, meta: Meta) -> CreatedTarget:
        url = check_url(command.url.strip())
        patterns = check_patterns(command.events)
        body = check_format(command.format)
        target_id = new_id(TARGET_KIND)
        secret = secrets.token_urlsafe(SECRET_BYTES)

        def handle() -> Decision:
            if command.app:
                self.ledger.app(command.app)  # NotFound unless it exists
            target = NotificationTarget.create(
                meta,
                target_id=target_id,
                url=url,
                events=list(patterns),
                app=command.app,
                format=body.value,
                secret=secret,
            )
            return Decision(Outcome(app=command.app, target_id=target_id), (target,))

        outcome = self.ledger.execute("CreateNotificationTarget", command, meta, handle)
        return CreatedTarget(outcome, secret if outcome.target_id == target_id else "")

    def delete(self, target_id: str, meta: Meta) -> Outcome:
        """Stop delivering to a target; its deliveries and history stay readable."""
        check_target_id(target_id)

        def handle() -> Decision:
            target = self.target(target_id)
            target.delete(meta)
            return Decision(Outcome(app=target.app, target_id=target_id), (target,))

        return self.ledger.execute("DeleteNotificationTarget", target_id, meta, handle)

    def target(self, target_id: str) -> NotificationTarget:
        """The aggregate (with its secret: for the delivery worker, never a view)."""
        try:
            found: object = self.ledger.repository.get(NotificationTarget.create_id(target_id))
        except AggregateNotFoundError:
            raise NotFound(f"notification target {target_id} not found") from None
        if not isinstance(found, NotificationTarget):
            raise NotFound(f"notification target {target_id} not found")
        return found

    def secret(self, target_id: str) -> str:
        """The target's signing secret, for the delivery worker to sign with."""
        return self.target(target_id).secret

    def view(self, target_id: str) -> TargetView:
        found = self.directory.notification_target(check_target_id(target_id))
        if found is None:
            raise NotFound(f"notification target {target_id} not found")
        return found

    def list_targets(self) -> Sequence[TargetView]:
        return self.directory.notification_targets()

    def deliveries(self, target_id: str = "", limit: int = 50) -> Sequence[DeliveryView]:
        """Newest first; of one target (which must exist) or of all."""
        if target_id:
            self.view(target_id)
        return self.directory.notification_deliveries(target_id, max(1, min(limit, MAX_DELIVERIES)))
