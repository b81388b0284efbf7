"""Sending webhook deliveries to a real ``ledgerd`` over HTTP, signed as each host signs."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from tests.support.webhook_payloads import gitea_headers, github_headers, gitlab_headers


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as error:
        return Answer(error.code, json.loads(error.read() or b"{}"))


def post_unread(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST a body the server may refuse before reading it all (it answers, then closes
    while the body is still being sent): the status it answered."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request("POST", parts.path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(url: str, secret: str, event: str, payload: object, delivery: str = "") -> Answer:
    body = json.dumps(payload).encode()
    headers = github_headers(event, delivery or str(uuid.uuid4()))
    headers["X-Hub-Signature-256"] = "sha256=" + hex_hmac(secret, body)
    return post(url, body, headers)


def gitlab(url: str, secret: str, event: str, payload: object, delivery: str = "") -> Answer:
    headers = gitlab_headers(event, delivery or str(uuid.uuid4()))
    headers["X-Gitlab-Token"] = secret
    return post(url, json.dumps(payload).encode(), headers)


def gitea(url: str, secret: str, event: str, payload: object, delivery: str = "") -> Answer:
    body = json.dumps(payload).encode()
    headers = gitea_headers(event, delivery or str(uuid.uuid4()))
    headers["X-Gitea-Signature"] = hex_hmac(secret, body)
    return post(url, body, headers)
