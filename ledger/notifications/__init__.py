"""Notifications: the ledger's events sent, signed, to HTTP receivers (chat rooms, bots).

What a target is and which events it gets is decided here (:mod:`names` for the public
event names and patterns, :mod:`service` for the use cases); sending is an adapter's
(``server/notify``), the delivery records a read model's (``projections``).
"""
