"""Packing a source directory: what ``docker build`` would send, and always what builds it."""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from pathlib import Path

from cli.source import UploadProgress, pack

WORKER_MANIFEST = "services:\n  worker:\n    build: jobs\n    dockerfile: Dockerfile.worker\n"


def packed_names(directory: Path) -> set[str]:
    buffer = io.BytesIO()
    pack(directory, buffer)
    with tarfile.open(fileobj=buffer, mode="r:gz") as archive:
        return {member.name for member in archive.getmembers() if member.isfile()}


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


def test_a_file_matched_by_dockerignore_is_not_in_the_tarball(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\n",
            "app.sh": "echo hi\n",
            ".env": "SECRET=1\n",
            "logs/today.log": "noise\n",
            ".dockerignore": "# local files\n.env\nlogs\n",
        },
    )

    names = packed_names(tmp_path)

    assert names == {"Dockerfile", "app.sh", ".dockerignore"}


def test_an_exception_pattern_keeps_the_file_as_docker_does(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\n",
            "a.md": "a",
            "README.md": "readme",
            ".dockerignore": "*.md\n!README.md\n",
        },
    )

    assert packed_names(tmp_path) == {"Dockerfile", "README.md", ".dockerignore"}


def test_ledger_yml_and_the_dockerfile_are_sent_even_when_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\n",
            "ledger.yml": "services:\n  web: {}\n",
            "main.go": "package main\n",
            ".dockerignore": "*\n",
        },
    )

    assert packed_names(tmp_path) == {"Dockerfile", "ledger.yml", ".dockerignore"}


def test_a_dockerfile_named_by_ledger_yml_is_sent_even_in_an_ignored_directory(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "ledger.yml": WORKER_MANIFEST,
            "jobs/Dockerfile.worker": "FROM scratch\n",
            "jobs/run.sh": "echo run\n",
            ".dockerignore": "jobs\n",
        },
    )

    names = packed_names(tmp_path)

    assert "jobs/Dockerfile.worker" in names
    assert "jobs/run.sh" not in names


def test_the_size_and_digest_are_those_of_the_tarball_sent(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM scratch\n", "app.sh": "echo hi\n"})
    buffer = io.BytesIO()

    packed = pack(tmp_path, buffer)

    data = buffer.getvalue()
    assert (packed.size, packed.digest) == (len(data), hashlib.sha256(data).hexdigest())
    assert packed.files == 2
    assert buffer.tell() == 0  # ready to be streamed


def test_the_same_directory_packed_a_second_later_gives_the_same_bytes(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    first = io.BytesIO()
    packed = pack(tmp_path, first)
    time.sleep(1.1)  # a gzip header records the second it was written unless told otherwise
    again = io.BytesIO()

    assert pack(tmp_path, again) == packed
    assert again.getvalue() == first.getvalue()


def test_upload_progress_without_a_terminal_is_one_line_at_the_start_and_one_at_the_end() -> None:
    stream = io.StringIO()
    progress = UploadProgress(stream, 3 * 1024 * 1024, "src (2 files)")

    progress.start()
    progress(1024 * 1024)
    progress(3 * 1024 * 1024)
    progress.done()

    assert stream.getvalue() == "uploading src (2 files) (3.0 MiB)\nuploaded 3.0 MiB\n"
