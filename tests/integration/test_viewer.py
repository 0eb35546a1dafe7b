"""`viewer`: what the gateway knows of the caller's credentials, with no VSee call and no token."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import MEMBER, PROVIDER
from tests.servers import Gateway, Sandbox

VIEWER = "query Me { viewer { accountCode hasApiToken hasApiKey } }"


def _viewer(gateway: Gateway, **kwargs: object) -> tuple[dict[str, object], str]:
    response = gateway.post(VIEWER, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    viewer: dict[str, object] = body["data"]["viewer"]
    return viewer, response.text


def _leaks(text: str, token: str) -> bool:
    """The token, or any 8 hex digits of a digest of it, anywhere in ``text``."""
    digests = [hashlib.new(name, token.encode()).hexdigest() for name in ("sha256", "sha1", "md5")]
    hexes = {digest[i : i + 8] for digest in digests for i in range(len(digest) - 7)}
    return token in text or any(part in text for part in hexes)


@pytest.mark.parametrize("token", [MEMBER, PROVIDER, "made-up-token"])
def test_the_viewer_answers_without_vsee_and_without_the_token(
    gateway: Gateway, upstream: Sandbox, token: str
) -> None:
    viewer, text = _viewer(gateway, token=token)
    # A provider's credentials read exactly as a member's: nothing about identity is guessed.
    assert viewer == {"accountCode": "vclinic", "hasApiToken": True, "hasApiKey": False}
    assert not _leaks(text, token)
    assert upstream.total() == 0


def test_an_api_key_and_a_bearer_token_are_seen(gateway: Gateway, upstream: Sandbox) -> None:
    viewer, text = _viewer(gateway, token=MEMBER, headers={"X-ApiKey": "app-key-123"})
    assert viewer == {"accountCode": "vclinic", "hasApiToken": True, "hasApiKey": True}
    assert "app-key-123" not in text
    bearer, text = _viewer(gateway, headers={"Authorization": f"Bearer {MEMBER}"})
    assert bearer == {"accountCode": "vclinic", "hasApiToken": True, "hasApiKey": False}
    assert not _leaks(text, MEMBER)
    assert upstream.total() == 0


def test_incomplete_credentials_say_which_part_came(gateway: Gateway, upstream: Sandbox) -> None:
    no_token, _ = _viewer(gateway)
    assert no_token == {"accountCode": "vclinic", "hasApiToken": False, "hasApiKey": False}
    no_account, text = _viewer(gateway, token=MEMBER, account=None)
    assert no_account == {"accountCode": None, "hasApiToken": True, "hasApiKey": False}
    assert not _leaks(text, MEMBER)
    nothing, _ = _viewer(gateway, account=None, headers={"Authorization": "Basic abc"})
    assert nothing == {"accountCode": None, "hasApiToken": False, "hasApiKey": False}
    assert upstream.total() == 0


def test_the_viewer_beside_a_vsee_field_costs_only_that_field(
    gateway: Gateway, upstream: Sandbox
) -> None:
    body = gateway.query("{ viewer { accountCode } currentVisit { id } }", token="made-up-token")
    # The made-up token is refused by VSee for currentVisit; the viewer still answers.
    assert body["data"]["viewer"] == {"accountCode": "vclinic"}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["currentVisit"]
    assert upstream.total() == 1
