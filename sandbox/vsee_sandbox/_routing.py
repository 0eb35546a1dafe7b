"""Route templates matched against API paths, with or without VSee's optional `.json` suffix."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

H = TypeVar("H")

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class Route(Generic[H]):
    method: str
    template: str  # e.g. "/visits/{id}"
    handler: H

    @property
    def key(self) -> str:
        """How the request log and the fault table name this route: "GET /visits/{id}"."""
        return f"{self.method} {self.template}"


@dataclass(frozen=True, slots=True)
class Match(Generic[H]):
    key: str  # the route key, or "METHOD /actual/path" when nothing matched
    route: Route[H] | None = None
    params: dict[str, str] = field(default_factory=dict)
    status: int = 200  # 404 or 405 when `route` is None


class Router(Generic[H]):
    """Static paths by dict lookup first (so /visits/current wins over /visits/{id})."""

    def __init__(self, routes: list[Route[H]]) -> None:
        self._static: dict[str, dict[str, Route[H]]] = {}
        self._dynamic: list[tuple[re.Pattern[str], str, dict[str, Route[H]]]] = []
        patterns: dict[str, dict[str, Route[H]]] = {}
        for route in routes:
            if _PARAM.search(route.template):
                patterns.setdefault(route.template, {})[route.method] = route
            else:
                self._static.setdefault(route.template, {})[route.method] = route
        for template, by_method in patterns.items():
            regex = re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", template) + "$")
            self._dynamic.append((regex, template, by_method))

    def match(self, method: str, path: str) -> Match[H]:
        if path.endswith(".json"):
            path = path[:-5]
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        by_method = self._static.get(path)
        if by_method is not None:
            return _pick(method, by_method, {})
        for regex, _template, candidates in self._dynamic:
            found = regex.match(path)
            if found is not None:
                return _pick(method, candidates, found.groupdict())
        return Match(key=f"{method} {path}", status=404)


def _pick(method: str, by_method: dict[str, Route[H]], params: dict[str, str]) -> Match[H]:
    route = by_method.get(method)
    if route is None:
        template = next(iter(by_method.values())).template
        return Match(key=f"{method} {template}", status=405)
    return Match(key=route.key, route=route, params=params)
