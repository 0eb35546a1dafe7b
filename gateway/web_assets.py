"""Where GraphiQL's browser files are: the wheel's package data, or an npm tree when developing.

Outside gateway.http so the CLI can ask (for its banner) without importing the HTTP stack.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# The only files served, by public name, and where each sits inside node_modules: prebuilt
# bundles that need no bundler. GraphiQL 4's UMD build is the last that runs from plain
# <script> tags; it needs React 18's UMD builds (React 19 ships none). Versions are pinned in
# web/package-lock.json. web/graphiql_files.py reads this table too (by path: it cannot import the
# package at build time), so it stays plain data with no imports of its own beyond the stdlib.
ASSETS: Mapping[str, str] = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    # graphql-sse's browser client: GraphiQL streams subscriptions over SSE with it.
    "graphql-sse.min.js": "graphql-sse/umd/graphql-sse.min.js",
}

PACKAGED_DIR = "http/static"
"""Folder of the ``gateway`` package the build hook fills with the assets (by public name)."""

MANIFEST = "manifest.json"
"""Written by the build hook beside the assets: each file's npm package, version and hashes."""

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
"""web/ of a source checkout (only there: an installed wheel has no such folder)."""

CHECKOUT_FILES = WEB_DIR / "graphiql-files"
"""Where `make run` puts the files (web/graphiql_files.py, same layout as the wheel's)."""


@dataclass(frozen=True)
class AssetFiles:
    """One place GraphiQL's files may be: package data (public names) or an npm tree."""

    root: Path
    layout: Literal["packaged", "node_modules"]

    def path(self, name: str) -> Path:
        """The file behind a public asset name (``name`` must be a key of ``ASSETS``)."""
        return self.root / (name if self.layout == "packaged" else ASSETS[name])

    def missing(self) -> list[str]:
        """Public names of the assets that are not there."""
        return [name for name in ASSETS if not self.path(name).is_file()]

    @property
    def hint(self) -> str:
        # No server paths: this text reaches browsers.
        if self.layout == "packaged":
            return (
                "This installation of the gateway carries no GraphiQL files: install it from "
                "its wheel (which includes them), or from a clone run `npm ci` in web/."
            )
        return (
            "In the gateway's source checkout: install Node 20+, then `make run` "
            "(or `npm ci` in web/)."
        )


def packaged_assets() -> AssetFiles:
    """The assets the wheel carries as package data (gateway/http/static)."""
    # files("gateway"), not files("gateway.http"): the latter would import the HTTP stack.
    folder = importlib.resources.files("gateway").joinpath(*PACKAGED_DIR.split("/"))
    # Installed wheels live on a filesystem; from a zip (no real path) there is nothing to serve.
    root = folder if isinstance(folder, Path) else Path("/nonexistent")
    return AssetFiles(root, "packaged")


def locate_assets(web_dir: str | Path | None = None) -> AssetFiles:
    """Where this gateway finds GraphiQL's files, first match wins.

    1. ``web_dir`` (``VSEE_WEB_DIR``): its ``node_modules``, as ``npm ci`` left it (development).
    2. The wheel's package data (``gateway/http/static``), put there by hatch_build.py.
    3. In a source checkout (an editable install): ``web/node_modules`` after ``npm ci`` (what
       the tests drive), else ``web/graphiql-files``, which `make run` fills.
    """
    if web_dir is not None:
        return AssetFiles(Path(web_dir) / "node_modules", "node_modules")
    packaged = packaged_assets()
    if (packaged.root / MANIFEST).is_file():
        return packaged
    if (WEB_DIR / "package.json").is_file():
        node_modules = AssetFiles(WEB_DIR / "node_modules", "node_modules")
        if node_modules.missing() and (CHECKOUT_FILES / MANIFEST).is_file():
            return AssetFiles(CHECKOUT_FILES, "packaged")
        return node_modules
    return packaged
