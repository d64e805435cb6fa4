"""The index custom resource: a SigV4-signed PUT of the contract's body, and an answer to CloudFormation.

A local HTTP server plays both the OpenSearch domain and CloudFormation's response URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from functions.contract import knn_index_body
from functions.handlers import create_index

INDEX = "genai-stack-chunks"


@dataclass
class FakeDomain:
    """Answers PUT /<index> with `status`/`body`; records every request."""

    status: int = 200
    body: bytes = b'{"acknowledged": true}'
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    def responses(self) -> list[dict[str, Any]]:
        return [json.loads(body) for path, _, body in self.requests if path == "/cfn-response"]


@pytest.fixture
def domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeDomain, str]]:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    fake = FakeDomain()

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            fake.requests.append((self.path, dict(self.headers), body))
            status, payload = (200, b"") if self.path == "/cfn-response" else (fake.status, fake.body)
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def event(url: str, request_type: str = "Create") -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": f"{url}/cfn-response",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "Index",
        "ResourceProperties": {
            "EndpointUrl": url,
            "IndexName": INDEX,
            "IndexBody": json.dumps(knn_index_body()),
        },
    }


CONTEXT = SimpleNamespace(log_stream_name="stream")


def test_create_puts_the_contract_mapping_signed_for_opensearch(domain: tuple[FakeDomain, str]) -> None:
    fake, url = domain

    create_index.handler(event(url), CONTEXT)

    path, headers, body = fake.requests[0]
    assert path == f"/{INDEX}"
    assert json.loads(body) == knn_index_body()
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/es/aws4_request" in headers["Authorization"]
    assert fake.responses() == [
        {
            "Status": "SUCCESS",
            "Reason": "see log stream stream",
            "PhysicalResourceId": INDEX,
            "StackId": "stack",
            "RequestId": "request",
            "LogicalResourceId": "Index",
        }
    ]


def test_an_existing_index_is_left_as_it_is(domain: tuple[FakeDomain, str]) -> None:
    fake, url = domain
    fake.status, fake.body = 400, b'{"error": {"type": "resource_already_exists_exception"}}'

    create_index.handler(event(url, "Update"), CONTEXT)

    assert fake.responses()[0]["Status"] == "SUCCESS"


def test_a_domain_error_fails_the_resource_with_the_reason(domain: tuple[FakeDomain, str]) -> None:
    fake, url = domain
    fake.status, fake.body = 403, b'{"message": "no permissions for [indices:admin/create]"}'

    create_index.handler(event(url), CONTEXT)

    (response,) = fake.responses()
    assert response["Status"] == "FAILED"
    assert "403" in response["Reason"] and "indices:admin/create" in response["Reason"]


def test_delete_keeps_the_index_and_its_documents(domain: tuple[FakeDomain, str]) -> None:
    fake, url = domain

    create_index.handler(event(url, "Delete"), CONTEXT)

    assert [path for path, _, _ in fake.requests] == ["/cfn-response"]
    assert fake.responses()[0]["Status"] == "SUCCESS"
