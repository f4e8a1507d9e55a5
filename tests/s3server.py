"""A real S3 API on loopback for the tests: moto's server (``moto_server``), run
as a child process on 127.0.0.1 with a free port, objects written with boto3.

Nothing may reach AWS: the fixture sets ``AWS_ENDPOINT_URL`` to the loopback
server, dummy credentials, and ``AWS_EC2_METADATA_DISABLED`` (botocore would
otherwise ask 169.254.169.254 for credentials when none are set).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

S3_SKIP = "needs the s3 extra: pip install 'archiver[s3]'"

#: The environment the tests' S3 clients (and archiver subprocesses) run with.
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """One moto server process; :meth:`put` and :meth:`client` talk to it with boto3."""

    def __init__(self, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.port = port
        self.proc = proc
        self.endpoint = f"http://127.0.0.1:{port}"

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, source: Path | bytes) -> str:
        body = source.read_bytes() if isinstance(source, Path) else source
        self.client().put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    def env(self) -> dict[str, str]:
        """The environment for an archiver subprocess that reads from this server."""
        env = dict(os.environ, **DUMMY_ENV, AWS_ENDPOINT_URL=self.endpoint)
        env.pop("AWS_PROFILE", None)
        return env


def moto_command() -> list[str]:
    found = shutil.which("moto_server")
    if found:
        return [found]
    return [sys.executable, "-c", "from moto.server import main; main()"]


@contextmanager
def run_s3_server() -> Iterator[S3Server]:
    port = free_port()
    proc = subprocess.Popen([*moto_command(), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield S3Server(port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
