"""Signed checkpoints and keys: exact text form, round trips, and every alteration caught."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from transparency import (
    Checkpoint,
    PrivateKey,
    PublicKey,
    VerificationError,
    generate_key,
    open_note,
    parse_and_verify,
    sign,
    sign_note,
)

ORIGIN = "ledger.example.com/log"
KEY = generate_key(ORIGIN)
CHECKPOINT = Checkpoint(ORIGIN, 1234, bytes(range(32)), datetime(2026, 11, 26, 10, 0, tzinfo=UTC))

# The example of Go's golang.org/x/mod/sumdb/note package documentation.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_a_signed_checkpoint_round_trips() -> None:
    assert parse_and_verify(sign(CHECKPOINT, KEY), KEY.public_key()) == CHECKPOINT


def test_the_signed_text_is_four_body_lines_a_blank_line_and_a_signature_line() -> None:
    lines = sign(CHECKPOINT, KEY).split("\n")
    assert lines[:5] == [
        ORIGIN,
        "1234",
        base64.b64encode(bytes(range(32))).decode(),
        "2026-11-26T10:00:00Z",
        "",
    ]
    assert re.fullmatch(rf"\u2014 {re.escape(ORIGIN)} [A-Za-z0-9+/]{{91}}=", lines[5])
    assert base64.b64decode(lines[5].split(" ")[2])[:4] == KEY.public_key().key_id
    assert lines[6:] == [""]


def test_a_timestamp_with_microseconds_keeps_them_and_any_offset_becomes_utc() -> None:
    moment = datetime(2026, 11, 26, 12, 0, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    checkpoint = Checkpoint(ORIGIN, 1, bytes(32), moment)
    text = sign(checkpoint, KEY)
    assert "\n2026-11-26T10:00:00.250000Z\n" in text
    assert parse_and_verify(text, KEY.public_key()).timestamp == moment


@pytest.mark.parametrize("line", range(4))
def test_a_changed_character_in_any_body_line_is_detected(line: int) -> None:
    lines = sign(CHECKPOINT, KEY).split("\n")
    lines[line] = lines[line][:-1] + ("A" if lines[line][-1] != "A" else "B")
    with pytest.raises(VerificationError, match="does not verify"):
        parse_and_verify("\n".join(lines), KEY.public_key())


@pytest.mark.parametrize("offset", [0, 10, 40, 63])
def test_a_changed_byte_of_the_signature_is_detected(offset: int) -> None:
    text = sign(CHECKPOINT, KEY)
    prefix, blob = text.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[4 + offset] ^= 0x01
    forged = f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(VerificationError, match="does not verify"):
        parse_and_verify(forged, KEY.public_key())


def test_a_checkpoint_signed_by_another_key_of_the_same_name_is_rejected() -> None:
    impostor = generate_key(ORIGIN)
    with pytest.raises(VerificationError, match="not signed by key"):
        parse_and_verify(sign(CHECKPOINT, impostor), KEY.public_key())


def test_a_checkpoint_checked_with_the_wrong_key_is_rejected() -> None:
    with pytest.raises(VerificationError, match="not signed by key"):
        parse_and_verify(sign(CHECKPOINT, KEY), generate_key("other.example").public_key())


def test_signatures_by_other_keys_are_ignored_when_ours_verifies() -> None:
    witness = generate_key("witness.example")
    cosigned = sign(CHECKPOINT, KEY) + sign_note(CHECKPOINT.body(), witness).split("\n\n")[1]
    assert parse_and_verify(cosigned, KEY.public_key()) == CHECKPOINT
    assert parse_and_verify(cosigned, witness.public_key()) == CHECKPOINT


def test_a_validly_signed_body_that_is_not_canonical_is_rejected() -> None:
    body = CHECKPOINT.body().replace("10:00:00Z", "10:00:00.000000Z")
    with pytest.raises(VerificationError, match="canonical"):
        parse_and_verify(sign_note(body, KEY), KEY.public_key())


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n1234\n{base64.b64encode(bytes(32)).decode()}\n",
        f"{ORIGIN}\n01234\n{base64.b64encode(bytes(32)).decode()}\n2026-11-26T10:00:00Z\n",
        f"{ORIGIN}\n12\n{base64.b64encode(bytes(31)).decode()}\n2026-11-26T10:00:00Z\n",
        f"{ORIGIN}\n12\n{base64.b64encode(bytes(32)).decode()}\n2026-11-26 10:00:00+00:00\n",
        f"{ORIGIN}\n12\n{base64.b64encode(bytes(32)).decode()}\n2026-13-26T10:00:00Z\n",
    ],
)
def test_a_validly_signed_body_that_is_not_a_checkpoint_is_rejected(body: str) -> None:
    with pytest.raises(VerificationError, match="malformed checkpoint"):
        parse_and_verify(sign_note(body, KEY), KEY.public_key())


@pytest.mark.parametrize(
    "text", ["", "no signature\n", "body\n\n", "body\n\nnot a signature line\n", "body\n\n\u2014 x"]
)
def test_text_that_is_not_a_signed_note_is_rejected(text: str) -> None:
    with pytest.raises(VerificationError, match="malformed"):
        parse_and_verify(text, KEY.public_key())


def test_a_checkpoint_of_another_log_is_rejected_when_the_origin_is_required() -> None:
    with pytest.raises(VerificationError, match="not 'other/log'"):
        parse_and_verify(sign(CHECKPOINT, KEY), KEY.public_key(), origin="other/log")


def test_a_checkpoint_needs_a_timezone_aware_time_and_a_32_byte_root() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Checkpoint(ORIGIN, 1, bytes(32), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="32 bytes"):
        Checkpoint(ORIGIN, 1, bytes(31), datetime(2026, 1, 1, tzinfo=UTC))


def test_keys_round_trip_through_their_one_line_text_forms() -> None:
    public = KEY.public_key()
    assert PublicKey.from_text(public.to_text()) == public
    assert PrivateKey.from_text(KEY.to_text()) == KEY
    assert re.fullmatch(
        rf"{re.escape(ORIGIN)}\+[0-9a-f]{{8}}\+[A-Za-z0-9+/]{{44}}", public.to_text()
    )
    assert KEY.seed.hex() not in repr(KEY)


def test_our_keys_and_notes_are_byte_for_byte_those_of_gos_note_package() -> None:
    signer = PrivateKey.from_text(GO_SIGNER)
    assert signer.public_key().to_text() == GO_VERIFIER
    assert sign_note(GO_TEXT, signer) == GO_NOTE
    assert open_note(GO_NOTE, PublicKey.from_text(GO_VERIFIER)) == GO_TEXT


@pytest.mark.parametrize(
    "text",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not lowercase
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # bad base64
        "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # not Ed25519
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # bad name
        "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_a_malformed_public_key_text_is_rejected(text: str) -> None:
    with pytest.raises(VerificationError, match=r"malformed|invalid key name"):
        PublicKey.from_text(text)


def test_a_pem_private_key_from_openssl_can_be_used() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.from_private_bytes(KEY.seed).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert PrivateKey.from_pem(ORIGIN, pem) == KEY
