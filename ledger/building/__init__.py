"""Builds: of an image the runtime has, or from a source tarball built by the runtime.

:class:`BuildService` holds the use cases (what the API calls); :class:`Builder` runs
builds from source in worker threads and records how each one ends.
"""

from ledger.building.builder import INTERRUPTED, Builder
from ledger.building.log import BatchedLog
from ledger.building.service import BuildService
from ledger.building.source import SourceUpload

__all__ = ["INTERRUPTED", "BatchedLog", "BuildService", "Builder", "SourceUpload"]
