"""A caller's VSee credentials, taken from their request and never shared with another."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._errors import InvalidInput, MissingCredentials

_SAFE_HEADER = re.compile(r"[\x20-\x7e]*")


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the caller sent; forwarded to VSee untouched on every call made for them.

    One object serves one request: its scope and its headers are worked out once, on first use,
    not again for each of the request's upstream calls."""

    token: str = field(repr=False)
    account_code: str
    api_key: str | None = field(default=None, repr=False)
    _scope: str | None = field(default=None, init=False, repr=False, compare=False)
    _pairs: tuple[tuple[str, str], ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def scope(self) -> str:
        """Cache-key prefix: the account plus a one-way hash of token and key, never the token.

        Everything cached from a caller's answers is keyed by this, so two callers can only share
        an entry when they present exactly the same credentials.
        """
        if self._scope is None:
            digest = hashlib.sha256(f"{self.token}\0{self.api_key or ''}".encode()).hexdigest()
            object.__setattr__(self, "_scope", f"{self.account_code}:{digest[:32]}")
        return self._scope  # type: ignore[return-value]

    def headers(self) -> dict[str, str]:
        return dict(self.header_pairs())

    def header_pairs(self) -> tuple[tuple[str, str], ...]:
        """The headers that carry these credentials to VSee; ``InvalidInput`` for a value no
        HTTP header can carry (checked before any call is made)."""
        if self._pairs is None:
            pairs = [("X-ApiToken", self.token), ("X-AccountCode", self.account_code)]
            if self.api_key:
                pairs.append(("X-ApiKey", self.api_key))
            for name, value in pairs:
                if not _SAFE_HEADER.fullmatch(value):
                    raise InvalidInput(
                        f"the {name} header may hold only printable ASCII characters", field=name
                    )
            object.__setattr__(self, "_pairs", tuple(pairs))
        return self._pairs  # type: ignore[return-value]

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Credentials:
        """Read ``X-ApiToken`` (or ``Authorization: Bearer``), ``X-AccountCode``, ``X-ApiKey``."""
        token = (headers.get("x-apitoken") or "").strip()
        if not token:
            scheme, _, value = (headers.get("authorization") or "").partition(" ")
            if scheme.lower() == "bearer":
                token = value.strip()
        account = (headers.get("x-accountcode") or "").strip()
        if not token or not account:
            raise MissingCredentials()
        api_key = (headers.get("x-apikey") or "").strip() or None
        return cls(token=token, account_code=account, api_key=api_key)


class AcceptedScopes:
    """Credential scopes VSee has answered with data, newest last, bounded in number.

    ``X-AccountCode`` is whatever the caller writes: were every request charged to the named
    account, a stranger with made-up tokens could spend a whole clinic's budget. Only a scope
    whose token VSee accepted may draw on (and so exhaust) its account's bucket.
    """

    def __init__(self, max_scopes: int = 100_000) -> None:
        self._max_scopes = max_scopes
        self._scopes: OrderedDict[str, None] = OrderedDict()

    def add(self, scope: str) -> None:
        self._scopes[scope] = None
        self._scopes.move_to_end(scope)
        while len(self._scopes) > self._max_scopes:
            self._scopes.popitem(last=False)

    def __contains__(self, scope: object) -> bool:
        return scope in self._scopes
