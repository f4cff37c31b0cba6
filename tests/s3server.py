"""A real S3-protocol server on loopback for tests: moto's server in a thread.

Nothing here talks to anything but 127.0.0.1: the endpoint is the local server, the
credentials are dummies, the EC2 metadata lookup is disabled and the AWS config files
are empty, so no profile of the machine leaks in.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

BUCKET = "linkindex-test"
# A dummy secret, distinctive so tests can look for it in messages.
SECRET_KEY = "dummy-secret-Zq81xW5"

# Variables that would point the AWS SDK elsewhere; the tests unset them.
FOREIGN_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN",
                "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT
    bucket: str
    env: dict[str, str] = field(default_factory=dict)

    def url(self, prefix: str = "") -> str:
        """s3://bucket/prefix on this server."""
        return f"s3://{self.bucket}/{prefix}".rstrip("/")

    def fresh_url(self, name: str = "t") -> str:
        """A prefix no other test uses, so tests share the bucket without meeting."""
        return self.url(f"{name}-{secrets.token_hex(4)}")

    def client(self) -> object:
        """A boto3 client on this server (for checks pyarrow does not expose)."""
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=self.env["AWS_REGION"],
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"])


def s3_env(endpoint: str) -> dict[str, str]:
    """The environment a process needs to use the server at `endpoint`."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "dummy-key-id",
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@contextmanager
def s3_server(bucket: str = BUCKET) -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1 and a free port, with `bucket` created."""
    from moto.server import ThreadedMotoServer  # only the tests that use S3 need moto

    # werkzeug logs every request at INFO on stderr
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = S3Server(endpoint=f"http://{host}:{port}", bucket=bucket)
        s3.env = s3_env(s3.endpoint)
        s3.client().create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        yield s3
    finally:
        server.stop()
