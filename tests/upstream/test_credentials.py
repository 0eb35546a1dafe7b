"""Credentials: read from the caller's headers, scoped without ever exposing the token."""

import pytest

from gateway.upstream import Credentials, MissingCredentials


def test_reads_vsee_headers() -> None:
    creds = Credentials.from_headers(
        {"x-apitoken": "tok", "x-accountcode": "vclinic", "x-apikey": "key"}
    )
    assert creds.headers() == {"X-ApiToken": "tok", "X-AccountCode": "vclinic", "X-ApiKey": "key"}


def test_bearer_is_an_alias_for_the_token() -> None:
    creds = Credentials.from_headers({"authorization": "Bearer tok", "x-accountcode": "vclinic"})
    assert creds.token == "tok"
    assert "X-ApiKey" not in creds.headers()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-apitoken": "tok"},
        {"x-accountcode": "vclinic"},
        {"authorization": "Basic abc", "x-accountcode": "vclinic"},
        {"x-apitoken": "  ", "x-accountcode": "vclinic"},
    ],
)
def test_missing_credentials(headers: dict[str, str]) -> None:
    with pytest.raises(MissingCredentials) as info:
        Credentials.from_headers(headers)
    assert info.value.code == "UNAUTHENTICATED"


def test_scope_separates_tokens_and_hides_them() -> None:
    a = Credentials(token="secret-a", account_code="vclinic")
    b = Credentials(token="secret-b", account_code="vclinic")
    assert a.scope != b.scope
    assert a.scope == Credentials(token="secret-a", account_code="vclinic").scope
    assert a.scope.startswith("vclinic:")
    assert "secret-a" not in a.scope
    assert "secret-a" not in repr(a)


def test_scope_includes_account_and_api_key() -> None:
    base = Credentials(token="t", account_code="a")
    assert base.scope != Credentials(token="t", account_code="b").scope
    assert base.scope != Credentials(token="t", account_code="a", api_key="k").scope
