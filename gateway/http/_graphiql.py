"""GraphiQL served from the gateway itself: the page, its example tabs and its local assets."""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.resources
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.web_assets import ASSETS, WEB_DIR, AssetFiles, locate_assets

__all__ = ["ASSETS", "PLACEHOLDER_HEADERS", "STATIC_PATH", "WEB_DIR", "GraphiQL", "example_tabs"]

STATIC_PATH = "/graphiql/static"

# What the tabs' Headers pane starts with when VSEE_GRAPHIQL_HEADERS is unset: where the
# caller's own VSee credentials go. No real or demo token ships with the gateway; the
# sandbox's demo headers are set by `serve --sandbox` (and compose) through that setting.
PLACEHOLDER_HEADERS: Mapping[str, str] = MappingProxyType(
    {"X-ApiToken": "YOUR-VSEE-API-TOKEN", "X-AccountCode": "YOUR-ACCOUNT-CODE"}
)


def _operation(name: str) -> str:
    """An example operation's text from operations/ (GraphiQL's tabs are those files, the same
    ones the trusted-documents manifest, the tests and the benchmarks use): the wheel's copy
    (package data ``gateway/operations``), else the source checkout's ``operations/``."""
    packaged = importlib.resources.files("gateway").joinpath("operations", f"{name}.graphql")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[2] / "operations" / f"{name}.graphql"
    return checkout.read_text(encoding="utf-8") if checkout.is_file() else ""


MOBILE_HOME = _operation("MobileHome")
VISIT_DETAIL = _operation("VisitDetail")
DASHBOARD = _operation("Dashboard")


def example_tabs(
    now: datetime, headers_shown: Mapping[str, str] = PLACEHOLDER_HEADERS
) -> list[dict[str, str]]:
    """The tabs a fresh GraphiQL opens with, as GraphiQL's ``defaultTabs`` takes them."""
    start = now.astimezone(UTC).replace(microsecond=0)
    headers = json.dumps(dict(headers_shown), indent=2)

    def tab(query: str, variables: dict[str, object]) -> dict[str, str]:
        return {"query": query, "variables": json.dumps(variables, indent=2), "headers": headers}

    tabs = [
        tab(
            MOBILE_HOME,
            {
                "start": start.isoformat().replace("+00:00", "Z"),
                "end": (start + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
            },
        ),
        tab(VISIT_DETAIL, {"id": "PASTE-A-VISIT-ID"}),
        tab(DASHBOARD, {"first": 20, "filter": {"upcoming": True}}),
    ]
    # An installation without the operation files opens GraphiQL with no example tabs.
    return [each for each in tabs if each["query"]]


_PAGE = """\
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>VSee GraphQL gateway · GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{css}">
  <style>
    html, body, #graphiql {{ height: 100%; margin: 0; }}
    .graphiql-unavailable {{ font: 16px/1.5 system-ui, sans-serif; max-width: 44rem;
      margin: 3rem auto; padding: 1.5rem; border: 2px solid #b00020; border-radius: 8px; }}
    .graphiql-unavailable h1 {{ font-size: 1.25rem; margin-top: 0; color: #b00020; }}
  </style>
</head>
<body>
  <div id="graphiql"><noscript>GraphiQL needs JavaScript.</noscript></div>
  <script id="graphiql-config" type="application/json">{config}</script>
  <script src="{react}"></script>
  <script src="{react_dom}"></script>
  <script src="{graphiql}"></script>
  <script src="{graphql_sse}"></script>
  <script>{boot}</script>
</body>
</html>
"""

_BOOT = """
  (function () {
    var config = JSON.parse(document.getElementById("graphiql-config").textContent);
    var root = document.getElementById("graphiql");
    function unavailable(detail) {
      root.innerHTML = "";
      var box = document.createElement("div");
      box.className = "graphiql-unavailable";
      box.setAttribute("role", "alert");
      var title = document.createElement("h1");
      title.textContent = "GraphiQL could not start";
      var text = document.createElement("p");
      text.textContent = detail;
      box.appendChild(title);
      box.appendChild(text);
      root.appendChild(box);
    }
    if (!window.React || !window.ReactDOM || !window.GraphiQL || !window.graphqlSse) {
      unavailable("Its scripts did not load from " + config.staticPath + "/. " + config.hint);
      return;
    }
    // Subscriptions stream over GraphQL over SSE (graphql-sse's client, distinct connections,
    // with the Headers pane's credentials); everything else goes through GraphiQL's own fetcher.
    function isSubscription(params, opts) {
      var document = opts && opts.documentAST;
      if (!document) return /^\\s*subscription\\b/.test(params.query || "");
      var operations = document.definitions.filter(function (definition) {
        return definition.kind === "OperationDefinition";
      });
      var operation = params.operationName
        ? operations.filter(function (each) {
            return each.name && each.name.value === params.operationName;
          })[0]
        : operations[0];
      return Boolean(operation) && operation.operation === "subscription";
    }
    async function* stream(params, headers) {
      // No retries: GraphiQL shows a failure instead of quietly trying again.
      var client = graphqlSse.createClient({
        url: config.endpoint, headers: headers, retryAttempts: 0
      });
      try {
        for await (var result of client.iterate(params)) yield result;
      } finally {
        client.dispose();  // also when GraphiQL stops the subscription
      }
    }
    try {
      var http = GraphiQL.createFetcher({ url: config.endpoint });
      var fetcher = function (params, opts) {
        if (isSubscription(params, opts)) {
          return stream(params, (opts && opts.headers) || {});
        }
        return http(params, opts);
      };
      ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultTabs: config.tabs,
        // GraphiQL 4 fills the first tab's query from defaultTabs but not its variables.
        variables: config.tabs[0].variables,
        defaultHeaders: config.headers,
        defaultEditorToolsVisibility: "headers"
      }));
    } catch (error) {
      unavailable(String(error));
    }
  })();
"""
# The page's one inline script, allowed by its hash: the Content-Security-Policy lets the page
# run nothing but this and the gateway's own files, load nothing from elsewhere, and be framed
# by no one (clickjacking). GraphiQL sets inline styles as it renders, hence 'unsafe-inline'
# for styles only.
_BOOT_HASH = base64.b64encode(hashlib.sha256(_BOOT.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"script-src 'self' 'sha256-{_BOOT_HASH}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

_MISSING_PAGE = """\
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>GraphiQL is not installed</title>
  <style>
    body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto;
      padding: 0 1rem; }}
    h1 {{ color: #b00020; font-size: 1.5rem; }}
    code {{ background: #f3f3f3; padding: 0 .25em; }}
  </style>
</head>
<body>
  <h1>GraphiQL is not installed on this gateway</h1>
  <p>The gateway serves GraphiQL's files itself, so it works without internet access, but
  these files are missing:</p>
  <ul>{missing}</ul>
  <p>{hint}</p>
  <p>The GraphQL endpoint itself works: POST queries to <code>{endpoint}</code>.</p>
</body>
</html>
"""


@dataclass(frozen=True)
class GraphiQL:
    """GraphiQL's page and asset files, looked up in ``files`` on every request.

    Looking up per request (a few ``stat`` calls, only when a person opens the page) means a
    development gateway started before ``npm ci`` ran picks the files up without a restart.
    """

    files: AssetFiles = field(default_factory=locate_assets)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    headers: Mapping[str, str] = field(default_factory=lambda: PLACEHOLDER_HEADERS)

    @property
    def hint(self) -> str:
        return self.files.hint

    def missing(self) -> list[str]:
        """Public names of the asset files that are not installed."""
        return self.files.missing()

    def page(self, request: Request) -> Response:
        """The GraphiQL page for a browser that opened the endpoint; 503 if not installed."""
        root_path = request.scope.get("root_path", "")
        endpoint = request.url.path  # ASGI paths already include root_path
        headers = {"Cache-Control": "no-store", "Vary": "Accept", **SECURITY_HEADERS}
        missing = self.missing()
        if missing:
            items = "".join(f"<li><code>{html.escape(name)}</code></li>" for name in missing)
            body = _MISSING_PAGE.format(
                missing=items, hint=html.escape(self.hint), endpoint=html.escape(endpoint)
            )
            return HTMLResponse(body, status_code=503, headers=headers)
        static = root_path + STATIC_PATH
        config = {
            "endpoint": endpoint,
            "staticPath": static,
            "hint": self.hint,
            "tabs": example_tabs(self.clock(), self.headers),
            "headers": json.dumps(dict(self.headers), indent=2),
        }
        body = _PAGE.format(
            boot=_BOOT,
            config=_script_json(config),
            css=html.escape(self._asset_url(static, "graphiql.min.css")),
            react=html.escape(self._asset_url(static, "react.production.min.js")),
            react_dom=html.escape(self._asset_url(static, "react-dom.production.min.js")),
            graphiql=html.escape(self._asset_url(static, "graphiql.min.js")),
            graphql_sse=html.escape(self._asset_url(static, "graphql-sse.min.js")),
        )
        return HTMLResponse(body, headers=headers)

    def _asset_url(self, static: str, name: str) -> str:
        # The file's mtime in the URL: browsers may cache an asset for long, and a new
        # `npm ci` (new version) changes the URL.
        stamp = int(self.files.path(name).stat().st_mtime)
        return f"{static}/{name}?v={stamp}"

    async def asset(self, request: Request) -> Response:
        """One allow-listed asset file; any other name is a 404."""
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("Not Found", status_code=404)
        path = self.files.path(name)
        if not path.is_file():
            return PlainTextResponse(f"Not installed: {self.hint}", status_code=404)
        return FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                STATIC_PATH + "/{name}", self.asset, methods=["GET", "HEAD"], name="graphiql-static"
            )
        ]


def _script_json(data: object) -> str:
    # Inside <script>, "</script>" or "<!--" in a string would end or derail the element;
    # with every "<" escaped (and non-ASCII escaped by json.dumps) neither can occur.
    return json.dumps(data).replace("<", "\\u003c")
