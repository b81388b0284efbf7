"""The gRPC entry point: servicers that translate ``ledger.v1`` requests into use cases and
queries, the interceptors that admit calls (authentication, authorization by action, rate
limits), and the one mapping of ledger errors to status codes. No rule lives here."""
