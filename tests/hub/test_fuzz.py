"""API fuzzing: schemathesis generates requests from the hub's own OpenAPI description.

Whatever it sends — unsigned, or signed by an approved desk with its own id as the
origin so that requests get past authentication — the hub never answers 5xx, and
every answer is one the description lists, in the documented shape.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.auth import signed_headers
from mrc_desktop.hub.storage import HubStorage, utc_now
from tests.hub.desks import FakeDesk

with warnings.catch_warnings():
    # Starlette would rather drive its test client with httpx2; the hub and its desks use httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class SignedForRequests(requests.auth.AuthBase):
    """The desk's request signature for the requests library, which schemathesis drives."""

    def __init__(self, desk: FakeDesk) -> None:
        self.desk = desk

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode() if isinstance(body, str) else bytes(body)  # type: ignore[arg-type]
        assert request.method is not None
        request.headers.update(
            signed_headers(self.desk.key, self.desk.id, request.method, request.path_url, raw)
        )
        return request


@pytest.fixture
def approved_desk(storage: HubStorage) -> FakeDesk:
    centre = storage.add_centre("Centre A")
    desk = FakeDesk("fuzzed desk")
    storage.enrol_desk(desk.id, desk.signing_key, desk.box_key, desk.label, utc_now())
    storage.approve_desk(desk.id, centre.id, "{}", utc_now())
    return desk


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_fuzzed_requests_never_break_the_hub(
    storage: HubStorage, approved_desk: FakeDesk, mode: str, signed: bool
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(storage))
    auth = SignedForRequests(approved_desk) if signed else None

    @given(case=schema.as_strategy(GenerationMode(mode)))
    @FUZZ
    def check(case: Any) -> None:
        if signed and case.path_parameters and "origin" in case.path_parameters:
            case.path_parameters["origin"] = approved_desk.id
        case.call_and_validate(checks=CHECKS, auth=auth)

    check()
