"""Backup and verified restore of a whole ledger (``ledgerd backup`` / ``ledgerd restore``).

One portable file for both backends (:mod:`~server.backup.format`), written from one
consistent snapshot while ``ledgerd`` serves (:mod:`~server.backup.take`), and restored
into an empty ledger only once the restored log's rebuilt Merkle tree matches the signed
checkpoint in the file (:mod:`~server.backup.restore`, :mod:`~server.backup.targets`).
See docs/operations.md, "Backup and restore".
"""

from server.backup.restore import RestoreSummary, public_key, restore_backup
from server.backup.take import BackupSummary, take_backup

__all__ = ["BackupSummary", "RestoreSummary", "public_key", "restore_backup", "take_backup"]
