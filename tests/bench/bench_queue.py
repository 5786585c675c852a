"""Queue ingest mode benchmark (``make bench``): prints figures; not collected by pytest.

    .venv/bin/python tests/bench/bench_queue.py [--files 200] [--size-kib 4]

Small files through the real ``app.lambda_handler`` in one warm process against in-process moto:
direct mode (one S3 notification per invocation) versus queue mode (SQS batches of 10 and 100
messages, one notification each). It prints files/s and milliseconds per file in one warm
process, invocations per 1000 files and AWS calls per file. Absolute figures are moto's (a local,
in-memory S3) and leave out what batching saves in AWS (per-invocation overhead and cold starts,
paid per batch instead of per file); what carries over is the invocation and call counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "serverlessapp-files-bench-123456789012"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "BUCKET_NAME": BUCKET,
    "UPLOAD_PREFIX": "uploads/",
    "RESULTS_PREFIX": "processed/",
    "ENVIRONMENT": "bench",
    "SECRET_CACHE_SECONDS": "300",
    "POWERTOOLS_SERVICE_NAME": "ServerlessApp",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApp/Lambda",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


class Context:
    function_name = "ServerlessAppLambdabench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ServerlessAppLambdabench"
    aws_request_id = "bench"


def notification(key: str, size: int, version_id: str, etag: str) -> dict[str, Any]:
    obj = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "versionId": version_id}
    record = {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
              "eventName": "ObjectCreated:Put",
              "s3": {"bucket": {"name": BUCKET}, "object": obj}}  # fmt: skip
    return {"Records": [record]}


def sqs_batch(notifications: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m-{i}", "receiptHandle": f"r-{i}", "body": json.dumps(n),
             "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
             "eventSource": "aws:sqs",
             "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ServerlessApp-Ingest-bench",
             "awsRegion": "us-east-1"}
            for i, n in enumerate(notifications)
        ]
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size-kib", type=int, default=4)
    args = parser.parse_args()
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT / "handler"))

    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        secret = boto3.client("secretsmanager").create_secret(
            Name="ServerlessApp/bench/app", SecretString=json.dumps({"password": "p" * 32})
        )
        os.environ["SECRET_ARN"] = secret["ARN"]
        import app
        from fileproc import aws

        calls: list[str] = []
        for client in (aws.s3_client(), aws.secrets_client()):
            client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))

        body = os.urandom(args.size_kib * 1024)
        warm = s3.put_object(Bucket=BUCKET, Key="uploads/warm-up.bin", Body=body)
        with contextlib.redirect_stdout(io.StringIO()):  # clients, secret and imports: warm
            app.lambda_handler(
                notification("uploads/warm-up.bin", len(body), warm["VersionId"],
                             warm["ETag"].strip('"')), Context())  # fmt: skip
        results = []
        modes = [("direct", 1), ("queue", 10), ("queue", 100)]
        for mode, batch in modes:
            events = []
            for start in range(0, args.files, batch):
                group = []
                for i in range(start, min(start + batch, args.files)):
                    key = f"uploads/{mode}-{batch}/file-{i}.bin"
                    put = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                    group.append(notification(key, len(body), put["VersionId"],
                                              put["ETag"].strip('"')))  # fmt: skip
                events.append(group[0] if mode == "direct" else sqs_batch(group))
            calls.clear()
            began = time.perf_counter()
            # The metric lines Powertools prints would only flood the figures.
            with contextlib.redirect_stdout(io.StringIO()):
                replies = [app.lambda_handler(event, Context()) for event in events]
            elapsed = time.perf_counter() - began
            assert not any(r.get("batchItemFailures") for r in replies), replies
            results.append((mode, batch, len(events), elapsed, args.files / elapsed, len(calls)))

    print(f"queue mode: {args.files} files of {args.size_kib} KiB, warm, in-process moto")
    for mode, batch, invocations, elapsed, rate, count in results:
        print(
            f"  {mode:6} batch {batch:>3}: {rate:5.0f} files/s, "
            f"{1000 * elapsed / args.files:5.2f} ms/file, "
            f"{1000 * invocations / args.files:4.0f} invocations per 1000 files, "
            f"{count / args.files:.2f} AWS calls per file"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
