"""The ``ledgerctl`` verbs, one module per resource (Convox's command names)."""
