"""One HTTP POST of a delivery, with the standard library (no redirect followed: a
receiver that moved answers 3xx, which is a failure to retry, not a GET elsewhere)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

TIMEOUT_SECONDS = 10.0
MAX_ERROR = 200


@dataclass(frozen=True)
class Answer:
    """How an attempt ended: an HTTP status (0 for none) and, on failure, why."""

    status: int
    error: str = ""

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = TIMEOUT_SECONDS
) -> Answer:
    """POST ``body`` to ``url``; never raises for what the network or receiver does."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(64 * 1024)  # let the connection close cleanly
            return Answer(response.status)
    except urllib.error.HTTPError as error:
        return Answer(error.code, f"HTTP {error.code} {error.reason}"[:MAX_ERROR])
    except urllib.error.URLError as error:
        return Answer(0, _reason(error.reason))
    except TimeoutError:
        return Answer(0, f"no answer within {timeout:g} s")
    except (OSError, HTTPException, ValueError) as error:
        return Answer(0, _reason(error))


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return "timed out"
    text = str(reason) or type(reason).__name__
    return text[:MAX_ERROR]
