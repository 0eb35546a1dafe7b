"""VSee-style credentials: X-AccountCode always, X-ApiToken for users, key and secret for SSO."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from enum import Enum

from ._config import SSO_API_KEY, SSO_API_SECRET
from ._errors import ApiError
from ._model import Caller
from ._store import Store


class Auth(Enum):
    ACCOUNT = "account"  # public reads: the account header is enough
    USER = "user"  # a user token of that account
    APP = "app"  # application key and secret (POST /users/sso)


def authenticate(store: Store, headers: Mapping[str, str], mode: Auth) -> Caller:
    code = headers.get("x-accountcode")
    if not code:
        raise ApiError(401, "Missing X-AccountCode header")
    account = store.account(code)
    if account is None:
        raise ApiError(401, "Unknown account")
    if mode is Auth.ACCOUNT:
        return Caller(account)
    if mode is Auth.APP:
        key = headers.get("x-apikey", "")
        secret = headers.get("x-apisecret", "")
        if not (_same(key, SSO_API_KEY) and _same(secret, SSO_API_SECRET)):
            raise ApiError(401, "Invalid API key or secret")
        return Caller(account)
    token = headers.get("x-apitoken")
    if not token:
        raise ApiError(401, "Missing X-ApiToken header")
    user = store.user_for_token(token)
    # A token of another account is as good as no token: 401, not 403.
    if user is None or user.account_code != account.code:
        raise ApiError(401, "Invalid or expired token")
    return Caller(account, user)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
