"""The log schema: which log this version of the ledger can read.

``LOG_SCHEMA`` counts the changes to what ``ledgerd`` writes to its log that an older
``ledgerd`` could not read: a new event type, or a new ``class_version`` of an event (an
older version has neither the class nor the upcaster). Bump it by one with each such
change; ``tests/unit/ledger/test_event_schema.py`` fails until you do. Adding an optional
field that readers may ignore is not such a change only if the event's class version is
unchanged, and the pin of the event fields allows no such silent change.

Each ``ledgerd`` records the schema it writes with its version when it starts
(``Rack.VersionStarted``); a ``ledgerd`` refuses to start on a log that records a higher
schema than its own (``server/infra/schema_check.py``), before writing anything.
"""

from __future__ import annotations

LOG_SCHEMA = 3
"""The schema this version writes, and the highest it reads."""

RACK_VERSION_FIELDS = ("version", "log_schema")
"""The fields of ``RackVersionStarted`` that every later version keeps as they are (names,
types and meaning), so that any older ``ledgerd`` can read which version and schema wrote
a log, whatever else later versions add to the event."""
