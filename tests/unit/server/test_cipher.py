"""The ledger's cipher: the library's AES-GCM layout behind a mark, plaintext passed through."""

from __future__ import annotations

import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from server.infra.cipher import LedgerCipher

ENV = Environment("test", {"CIPHER_KEY": AESCipher.create_key(32)})


def test_a_state_encrypted_by_the_ledger_decrypts_to_itself() -> None:
    cipher = LedgerCipher(ENV)

    assert cipher.decrypt(cipher.encrypt(b'{"env": "secret"}')) == b'{"env": "secret"}'


def test_the_library_reads_what_the_ledger_writes_after_its_mark_and_the_reverse() -> None:
    ours, library = LedgerCipher(ENV), AESCipher(ENV)

    written = ours.encrypt(b"state")

    assert library.decrypt(written[len(LedgerCipher.MARK) :]) == b"state"
    assert ours.decrypt(LedgerCipher.MARK + library.encrypt(b"older")) == b"older"


def test_a_state_stored_before_encryption_is_read_as_it_is() -> None:
    assert LedgerCipher(ENV).decrypt(b'{"plain": true}') == b'{"plain": true}'


def test_a_tampered_state_is_refused() -> None:
    cipher = LedgerCipher(ENV)
    written = bytearray(cipher.encrypt(b"state"))
    written[-1] ^= 1

    with pytest.raises(ValueError, match="Invalid cipher tag"):
        cipher.decrypt(bytes(written))


def test_a_truncated_state_is_refused() -> None:
    with pytest.raises(ValueError, match="Damaged cipher text"):
        LedgerCipher(ENV).decrypt(LedgerCipher.MARK + b"short")
