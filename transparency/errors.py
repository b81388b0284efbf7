"""The one exception the transparency package raises when evidence does not hold up."""

from __future__ import annotations


class VerificationError(Exception):
    """A signature, a proof or a serialised artefact (checkpoint, key, bundle) failed to verify.

    The message is meant for a human auditor: it says what was checked, what was expected and,
    where one applies, which log position or tree size is affected.
    """
