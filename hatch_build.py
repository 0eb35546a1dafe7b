"""Hatch build hook: GraphiQL's pinned files into the wheel, their npm tarballs into the sdist.

The wheel must be the whole product (GraphiQL included, no Node needed where it is installed),
so every wheel build puts the files the page loads into ``gateway/http/static/`` as package data,
with their licences and a ``manifest.json``. web/graphiql_files.py takes them out of the npm
tarballs whose sha512 matches web/package-lock.json's integrity (npm's cache after ``npm ci``,
or web/npm-tarballs/ of the sdist, which this hook fills so a wheel builds from the sdist with
neither Node nor network).

Editable installs (``pip install -e .``) skip all this: they serve GraphiQL from web/ directly.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

STATIC = "gateway/http/static"


def graphiql_files(root: Path) -> ModuleType:
    """web/graphiql_files.py, loaded by path (the build runs from the tree or the sdist)."""
    path = root / "web" / "graphiql_files.py"
    spec = importlib.util.spec_from_file_location("_vsee_graphiql_files", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


class GraphiQLAssetsHook(BuildHookInterface):  # type: ignore[misc]
    """Adds GraphiQL's verified files to wheels and their tarballs to sdists."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return  # editable installs serve web/node_modules of the checkout
        root = Path(self.root)
        files_module = graphiql_files(root)
        try:
            tarballs, files, _ = files_module.collect(root)
        except files_module.AssetError as exc:
            raise SystemExit(f"hatch_build.py: GraphiQL's assets: {exc}") from None
        staging = Path(tempfile.mkdtemp(prefix="vsee-gateway-build-"))
        self._staging = staging
        if self.target_name == "sdist":
            for name, data in tarballs.items():
                (staging / name).write_bytes(data)
                target = f"{files_module.TARBALLS}/{name}"
                build_data["force_include"][str(staging / name)] = target
            return
        for relative, data in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            build_data["force_include"][str(target)] = f"{STATIC}/{relative}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        staging = getattr(self, "_staging", None)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
