"""The embedded default's AWS: a moto server on 127.0.0.1 that speaks the S3, Glue,
Athena and QuickSight APIs, so the pipeline's boto3 code runs unchanged with no account.

Real AWS needs none of this: leave ``aws.endpoint_url`` unset and boto3 uses the
standard credential chain.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from basket_core.config import AwsConfig

HOST = "127.0.0.1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "basket-local",
    "AWS_SECRET_ACCESS_KEY": "basket-local",
    "AWS_SESSION_TOKEN": "basket-local",
}


@contextmanager
def local_aws(aws: AwsConfig) -> Iterator[AwsConfig]:
    """Start a moto server on a free loopback port for the duration of the block and
    yield ``aws`` pointed at it, with the results bucket created."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        local = aws.model_copy(update={"endpoint_url": f"http://{host}:{port}", "profile": None})
        from basket_core.aws.session import client

        s3 = client(local, "s3")
        kwargs = {}
        if local.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": local.region}
        s3.create_bucket(Bucket=local.bucket, **kwargs)
        yield local
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def quicksight_status_completed() -> Iterator[None]:
    """moto records CreateIngestion but has no DescribeIngestion, so on the local endpoint
    the Amazon provider's QuickSightSensor would never see an ingestion finish: for the
    block, the hook reports every ingestion COMPLETED (the CreateIngestion calls are real)."""
    from airflow.providers.amazon.aws.hooks.quicksight import QuickSightHook

    saved = QuickSightHook.get_status

    def completed(self: object, *args: object, **kwargs: object) -> str:
        return "COMPLETED"

    QuickSightHook.get_status = completed  # type: ignore[method-assign]
    try:
        yield
    finally:
        QuickSightHook.get_status = saved  # type: ignore[method-assign]
