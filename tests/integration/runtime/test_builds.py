"""Builds from source and image references on a real Docker Engine."""

from __future__ import annotations

import threading
from pathlib import Path

import docker
import pytest

from ledger.errors import NotFound
from ledger.manifest import Manifest, Service
from ledger.runtime import BuildFailed, BuildRequest, BuiltImages
from runtime.docker import DockerRuntime
from tests.support.docker import TestImages, write_context

pytestmark = pytest.mark.docker

LIST_SOURCE = 'echo "files: $(ls /src | tr "\\n" " ")"\n'
SOURCE_DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY . /src
COPY app.sh /app.sh
CMD ["/bin/sh", "/app.sh"]
"""


class Log:
    """Our own BuildLog port: collects what the runtime writes."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def source(directory: Path, dockerfile: str = SOURCE_DOCKERFILE) -> Path:
    write_context(
        directory,
        LIST_SOURCE,
        {
            "Dockerfile": dockerfile,
            "kept.txt": "kept",
            "secret.txt": "no",
            ".dockerignore": "secret.txt\n",
        },
    )
    return directory


def run_once(client: docker.DockerClient, image: str) -> str:
    output: bytes = client.containers.run(image, remove=True)
    return output.decode()


def test_a_build_honours_dockerignore_and_streams_its_output_to_the_log(
    runtime: DockerRuntime, docker_app: str, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    request = BuildRequest(docker_app, "BQWERTY2345", source(tmp_path / "src"), Manifest.default())
    log = Log()

    built = runtime.build(request, log)

    tag = f"{docker_app}:BQWERTY2345"
    assert built.tags == {"web": tag}
    assert built.ids["web"].startswith("sha256:")
    assert built.ids["web"] == runtime.resolve_image(tag)
    assert "Step 1/6 : FROM scratch" in log.text
    assert "Successfully tagged" in log.text
    listing = run_once(docker_client, tag)
    assert "kept.txt" in listing
    assert "secret.txt" not in listing


def test_a_failing_step_raises_build_failed_with_the_engine_error_also_in_the_log(
    runtime: DockerRuntime, docker_app: str, tmp_path: Path
) -> None:
    failing = (
        "FROM scratch\nCOPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "sh", "-c", "echo compiling; exit 7"]\n'
    )
    request = BuildRequest(
        docker_app, "BFA1LEDXXXX", source(tmp_path / "src", failing), Manifest.default()
    )
    log = Log()

    with pytest.raises(BuildFailed) as failed:
        runtime.build(request, log)

    reason = str(failed.value)
    assert "\n" not in reason and "non-zero code: 7" in reason
    assert "compiling" in log.text
    assert "non-zero code: 7" in log.text
    with pytest.raises(NotFound):
        runtime.resolve_image(f"{docker_app}:BFA1LEDXXXX")


def test_two_builds_at_once_both_succeed_and_a_manifest_image_is_resolved(
    runtime: DockerRuntime, docker_app: str, test_images: TestImages, tmp_path: Path
) -> None:
    worker = test_images.get("worker")
    manifest = Manifest((Service(name="web", port=3000), Service(name="worker", image=worker)))
    requests = [
        BuildRequest(docker_app, build_id, source(tmp_path / build_id), manifest)
        for build_id in ("BCCCCCCCCC2", "BCCCCCCCCC3")
    ]
    results: dict[str, BuiltImages | BaseException] = {}

    def build(request: BuildRequest) -> None:
        try:
            results[request.build_id] = runtime.build(request, Log())
        except BaseException as error:
            results[request.build_id] = error

    threads = [threading.Thread(target=build, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    for build_id, built in results.items():
        assert isinstance(built, BuiltImages), built
        assert built.tags == {"web": f"{docker_app}:{build_id}-web", "worker": worker}
        assert built.ids["worker"] == runtime.resolve_image(worker)
        assert built.ids["web"] == runtime.resolve_image(built.tags["web"])


def test_resolving_an_image_the_engine_does_not_have_is_not_found(
    runtime: DockerRuntime, test_images: TestImages
) -> None:
    with pytest.raises(NotFound, match="never pulled"):
        runtime.resolve_image("no-such-image-here:1")
    assert runtime.resolve_image(test_images.get("http")).startswith("sha256:")
