"""CloudFormation custom resource: create the k-NN index on the stack's OpenSearch domain.

The stack passes the index body built by `functions.contract.knn_index_body`, so the index has the
mapping the runtime adapter expects. Requests are signed with botocore's SigV4 and sent with the
standard library, so the function needs no layer. An existing index is left as it is (a mapping
cannot change in place: configure a new index name to get a new one), and deleting the resource
keeps the index, which holds the ingested documents. CloudFormation always gets an answer, also on
failure, so a stack never waits an hour for a timeout.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ALREADY_EXISTS = "resource_already_exists_exception"
TIMEOUT_SECONDS = 30


def handler(event: dict[str, Any], context: Any) -> None:
    """Create the index on Create and Update; answer CloudFormation whatever happens."""
    properties = event["ResourceProperties"]
    index = properties["IndexName"]
    try:
        if event["RequestType"] in {"Create", "Update"}:
            create_index(properties["EndpointUrl"], index, properties["IndexBody"])
        respond(event, context, "SUCCESS", physical_id=index)
    except Exception as error:
        logger.exception("index %s: %s failed", index, event["RequestType"])
        respond(event, context, "FAILED", physical_id=index, reason=f"{type(error).__name__}: {error}")


def create_index(endpoint_url: str, index: str, body: str) -> bool:
    """PUT the index at the domain's `https://` URL; True if created, False if it already existed."""
    request = AWSRequest(
        method="PUT",
        url=f"{endpoint_url}/{index}",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    credentials = botocore.session.get_session().get_credentials()
    SigV4Auth(credentials, "es", os.environ["AWS_REGION"]).add_auth(request)
    try:
        _send(request.url, request.body, dict(request.headers))
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        if error.code == 400 and ALREADY_EXISTS in detail:
            logger.info("index %s exists; left unchanged", index)
            return False
        raise RuntimeError(f"PUT /{index} returned {error.code}: {detail[:500]}") from error
    logger.info("index %s created", index)
    return True


def respond(event: dict[str, Any], context: Any, status: str, *, physical_id: str, reason: str = "") -> None:
    """Send the custom resource's result to the pre-signed URL CloudFormation waits on."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000] or f"see log stream {context.log_stream_name}",
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    _send(event["ResponseURL"], body, {"Content-Type": ""})


def _send(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, headers=headers, method="PUT")
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
        pass
