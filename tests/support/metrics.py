"""Scraping ``/metrics`` over real HTTP and reading it with the official client's parser."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

TIMEOUT = 30.0


@dataclass(frozen=True)
class Scrape:
    """One answer of ``/metrics``: its status, content type and body."""

    status: int
    content_type: str
    body: str

    def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample, by name and labels (the body must parse)."""
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.body)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        """The value of the sample ``name`` with exactly ``labels`` (None if absent)."""
        return self.samples().get((name, frozenset(labels.items())))

    def named(self, prefix: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """The samples whose name starts with ``prefix``."""
        return {key: value for key, value in self.samples().items() if key[0].startswith(prefix)}


def scrape(url: str, token: str | None = None) -> Scrape:
    """GET ``url``, with ``Authorization: Bearer <token>`` when a token is given."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            body = answer.read().decode()
            return Scrape(answer.status, answer.headers.get("content-type", ""), body)
    except urllib.error.HTTPError as refused:
        body = refused.read().decode()
        return Scrape(refused.code, refused.headers.get("content-type", ""), body)
