"""The `--json` keys the CLI promises for each resource (the machine contract, docs/design.md)."""

RELEASE_KEYS = {
    "id",
    "version",
    "app",
    "build_id",
    "env_version",
    "reason",
    "parent_id",
    "description",
    "actor",
    "created_at",
    "active",
}
BUILD_KEYS = {
    "id",
    "app",
    "status",
    "description",
    "image",
    "release_id",
    "started_at",
    "ended_at",
}
PROMOTION_KEYS = {
    "id",
    "app",
    "release_id",
    "previous_release_id",
    "status",
    "reason",
    "started_at",
    "ended_at",
}
APP_KEYS = {"name", "active_release_id", "env_version", "promotion"}
