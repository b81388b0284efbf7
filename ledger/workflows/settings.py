"""The checks of a workflow's settings, and how its commands change them.

Apart from the use cases because they look at the command alone: a refusal here costs no
read and names what to fix. Which apps exist, and who may target them, is checked by the
use cases (:mod:`ledger.workflows.service`) and the policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ledger.checks import MAX_ENV_VALUE
from ledger.domain import Hook, PromoteMode, WorkflowSettings
from ledger.errors import InvalidArgument
from ledger.ids import check_app_name, check_env_key
from ledger.manifest import SERVICE_NAME

WORKFLOW_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
MAX_APPS = 20
MAX_HOOKS = 10
MAX_COMMAND = 1000
MAX_REPOSITORY = 500
MAX_CREDENTIALS = 1000
MIN_POLL, MAX_POLL = 10, 86400
REVIEW_SUFFIX = "-pr-99999"  # the longest suffix a review app name gets
MAX_REVIEW_ENV = 200


def check_workflow_name(name: str) -> str:
    if not WORKFLOW_NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid workflow name {name[:40]!r}: use 1-40 lowercase letters, digits or '-', "
            "starting with a letter"
        )
    return name


def check_settings(settings: WorkflowSettings) -> WorkflowSettings:
    """``settings`` with its apps sorted and unique, or :class:`InvalidArgument`."""
    check_repository(settings.repository)
    check_branch(settings.branch)
    if not settings.apps:
        raise InvalidArgument("a workflow deploys at least one app: give --app")
    if len(settings.apps) > MAX_APPS:
        raise InvalidArgument(f"a workflow deploys at most {MAX_APPS} apps")
    apps = tuple(sorted({check_app_name(app) for app in settings.apps}))
    for hooks in (settings.before_promote, settings.after_promote):
        _check_hooks(hooks)
    if settings.review_apps:
        too_long = [app for app in apps if len(app + REVIEW_SUFFIX) > 30]
        if too_long:
            raise InvalidArgument(
                f"review apps are named APP-pr-N (at most 30 characters): {too_long[0]} is too "
                f"long for them (at most {30 - len(REVIEW_SUFFIX)} characters)"
            )
    _check_review_env(settings.review_env)
    if settings.poll_seconds and not MIN_POLL <= settings.poll_seconds <= MAX_POLL:
        raise InvalidArgument(f"poll every {MIN_POLL} to {MAX_POLL} seconds, or 0 for never")
    return replace(settings, apps=apps)


def check_repository(url: str) -> str:
    allowed = ("https://", "http://", "ssh://", "git@", "file://", "/")
    if not url or len(url) > MAX_REPOSITORY or not url.startswith(allowed):
        raise InvalidArgument(
            "the repository is a git URL (https://, ssh://, git@host:path, file://) or an "
            f"absolute path, at most {MAX_REPOSITORY} characters"
        )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidArgument("the repository URL contains spaces or control characters")
    if "@" in url.split("://", 1)[-1].split("/", 1)[0] and url.startswith(("https", "http")):
        raise InvalidArgument(
            "put no credentials in the repository URL: give them with --credentials "
            "(stored encrypted, never shown)"
        )
    return url


def check_branch(branch: str) -> str:
    if not BRANCH.fullmatch(branch) or ".." in branch or branch.startswith(("-", "/")):
        raise InvalidArgument(f"invalid branch name {branch[:40]!r}")
    return branch


def check_credentials(credentials: str) -> str:
    if len(credentials) > MAX_CREDENTIALS or any(not c.isprintable() for c in credentials):
        raise InvalidArgument(f"credentials are at most {MAX_CREDENTIALS} printable characters")
    return credentials


def parse_hook(text: str) -> Hook:
    """``"web: rake db:migrate"`` → Hook("web", "rake db:migrate")."""
    service, colon, command = text.partition(":")
    hook = Hook(service.strip(), command.strip())
    if not colon or not hook.command:
        raise InvalidArgument(f"a promote command is 'SERVICE: COMMAND', not {text[:60]!r}")
    _check_hooks((hook,))
    return hook


def _check_hooks(hooks: tuple[Hook, ...]) -> None:
    if len(hooks) > MAX_HOOKS:
        raise InvalidArgument(f"at most {MAX_HOOKS} commands before and after promoting")
    for hook in hooks:
        if not SERVICE_NAME.fullmatch(hook.service):
            raise InvalidArgument(f"invalid service name {hook.service[:40]!r} in a command")
        if not hook.command or len(hook.command) > MAX_COMMAND or "\x00" in hook.command:
            raise InvalidArgument(f"a promote command is 1-{MAX_COMMAND} characters")


def _check_review_env(env: dict[str, str]) -> None:
    if len(env) > MAX_REVIEW_ENV:
        raise InvalidArgument(f"at most {MAX_REVIEW_ENV} review env keys")
    for key, value in env.items():
        check_env_key(key)
        if len(value) > MAX_ENV_VALUE or "\x00" in value:
            raise InvalidArgument(f"the review env value of {key} is too long or has a NUL")


@dataclass(frozen=True)
class SettingsChange:
    """What ``workflows update`` changes: None leaves a setting as it is."""

    repository: str | None = None
    branch: str | None = None
    apps: tuple[str, ...] | None = None
    promote: PromoteMode | None = None
    before_promote: tuple[Hook, ...] | None = None
    after_promote: tuple[Hook, ...] | None = None
    review_apps: bool | None = None
    review_env: dict[str, str] | None = None
    wait_for_ci: bool | None = None
    poll_seconds: int | None = None
    allow_forks: bool | None = None

    def applied_to(self, settings: WorkflowSettings) -> WorkflowSettings:
        changes = {k: v for k, v in vars(self).items() if v is not None}
        return check_settings(replace(settings, **changes))
