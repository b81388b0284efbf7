"""``$PORT`` for each replica of an HTTP service on host networking.

Tasks run with host networking, so two replicas on one node must never listen on the
same port, and during a rolling update (``start-first``) the new task of a slot runs
next to the old task of that slot. Swarm cannot give each task a computed env value
except through Go templates, which have no arithmetic. So each service spec is given a
**block** of 100 ports, ``B00`` to ``B99``, and its env holds::

    PORT=B{{if lt (len .Task.Slot) 2}}0{{end}}{{.Task.Slot}}

which the node expands to ``B`` followed by the two-digit slot: slot 1 of block 213
listens on 21301, slot 12 on 21312 (a manifest allows at most 50 replicas). A new spec
(a new release) gets a block that no spec or task of ours uses, so old and new tasks of
one slot never share a port; a spec applied again (a restore, a re-run after a crash)
keeps the block it had, so its tasks are unchanged. The block is also a container label
(``ledger.ports``: the block's first port), so the port of any task is known without
asking the node.

Blocks are drawn at random from ``DEFAULT_BLOCKS`` (ports 10000 to 32799, below the
kernel's ephemeral range), skipping any that cannot be bound on this host right now.
Every service holds up to two blocks (its spec's and its previous spec's), so one node
runs at most about 110 HTTP services of the ledger.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Callable, Iterator

from runtime.docker.ports import bindable

BLOCK_SIZE = 100
DEFAULT_BLOCKS = range(100, 328)
RANDOM_TRIES = 64


class NoFreeBlock(Exception):
    """Every block of ports is taken."""


def port_template(block: int) -> str:
    """The ``PORT`` value of a spec holding ``block``: expanded per task by the node."""
    return f"{block}{{{{if lt (len .Task.Slot) 2}}}}0{{{{end}}}}{{{{.Task.Slot}}}}"


def block_base(block: int) -> int:
    """The first port of ``block`` (what the ``ledger.ports`` label holds)."""
    return block * BLOCK_SIZE


def port_of(base: int, slot: int) -> int:
    """The port of the task in ``slot`` of a spec whose block starts at ``base``."""
    return base + slot


class BlockAllocator:
    """Hands out blocks that no spec or task of ours uses and that this host can bind."""

    def __init__(self, blocks: range = DEFAULT_BLOCKS) -> None:
        if len(blocks) == 0:
            raise ValueError("the block range is empty")
        self.blocks = blocks
        self._pending: set[int] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def reserve(self, in_use: Callable[[], set[int]], replicas: int) -> Iterator[int]:
        """Yield a free block, held for this process until the block ends (apply the
        spec holding it inside the block). ``in_use`` lists the blocks the engine's
        services and tasks hold; ``replicas`` ports of the block must be bindable."""
        with self._lock:
            taken = in_use() | self._pending
            block = self._pick(taken, replicas)
            self._pending.add(block)
        try:
            yield block
        finally:
            with self._lock:
                self._pending.discard(block)

    def _pick(self, taken: set[int], replicas: int) -> int:
        def free(block: int) -> bool:
            base = block_base(block)
            return block not in taken and all(
                bindable(port_of(base, slot)) for slot in range(1, replicas + 1)
            )

        for _ in range(RANDOM_TRIES):
            block = random.choice(self.blocks)
            if free(block):
                return block
        for block in self.blocks:
            if free(block):
                return block
        first, last = block_base(self.blocks.start), block_base(self.blocks.stop) - 1
        raise NoFreeBlock(f"no free block of ports from {first} to {last}")
