"""The delivery of notifications: signed HTTP POSTs of the log's events to each target,
in log order, retried with backoff (see ``docs/notifications.md``)."""
