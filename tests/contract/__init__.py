"""The runtime contract suite: one set of scenarios every runtime adapter must pass."""
