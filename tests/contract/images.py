"""The test images of the Docker-based adapters' contract releases, one per fate.

Shared by the ``docker`` and ``swarm`` adapters: a release that runs serves its
``VALUE`` on ``$PORT``; a slow one listens but never passes its health check; the
failing ones print the env they were given as they fail (as many a crashing app does),
or answer their health check with it, so the cause and the steps, which must still show
no env value, are given something to leak.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from ledger.manifest import Health
from tests.contract.harness import RUNS, SLOW
from tests.support.docker import TestImages

EXITS = "exits at start"
UNHEALTHY = "fails its health check"

# Prints its env, then exits with code 3.
LEAKY_EXITING_APP = """\
echo "starting with API_TOKEN=$API_TOKEN"
echo "failing on purpose"
exit 3
"""

# Serves /cgi-bin/health answering 500 with a body naming its API_TOKEN.
LEAKY_FAILING_HEALTH_APP = """\
mkdir -p /www/cgi-bin
echo "serving with API_TOKEN=$API_TOKEN"
printf 'database unreachable with token %s\\n' "$API_TOKEN" > /www/reason
cat > /www/cgi-bin/health <<'EOF'
#!/bin/sh
printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\n'
cat /www/reason
EOF
chmod +x /www/cgi-bin/health
exec httpd -f -p "$PORT" -h /www
"""

FAILING_HEALTH = Health(path="/cgi-bin/health", grace=1.5, interval=0.2, timeout=1.0)
PATIENT = Health(path="/health", grace=30.0, interval=0.2, timeout=1.0)


class ContractImages:
    """The test images of each fate, built on first use (removed with ``test_images``)."""

    APPS: ClassVar[dict[str, str]] = {EXITS: LEAKY_EXITING_APP, UNHEALTHY: LEAKY_FAILING_HEALTH_APP}

    def __init__(self, images: TestImages) -> None:
        self.images = images
        self._built: dict[str, str] = {}

    def get(self, fate: str) -> str:
        if fate == RUNS:
            return self.images.get("http")
        if fate == SLOW:
            return self.images.get("never-healthy")
        if fate not in self._built:
            name = "contract-" + fate.replace(" ", "-")
            self._built[fate] = self.images.build(name, self.APPS[fate])
        return self._built[fate]


@pytest.fixture(scope="session")
def contract_images(test_images: TestImages) -> ContractImages:
    return ContractImages(test_images)
