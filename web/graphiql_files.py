"""GraphiQL's pinned browser files, taken only from npm tarballs that match web/package-lock.json.

The wheel must be the whole product (GraphiQL included, no Node needed where it is installed),
so every wheel build puts the files the page loads (``gateway/web_assets.py``'s ``ASSETS``)
into ``gateway/http/static/`` as package data, with their licences and a ``manifest.json``.

The files are never taken on trust from ``node_modules``: they come out of the npm tarballs
whose sha512 matches the ``integrity`` web/package-lock.json records for each package. The
tarballs are found in npm's cache, which ``npm ci`` in web/ fills (``npm_config_cache``, else
``npm config get cache``, else ~/.npm), or in web/npm-tarballs/ of an sdist, which carries them
so a wheel built from the sdist needs neither Node nor the network. When web/node_modules is
there too, each file must be byte-for-byte the tarball's (a stale or edited tree fails the build).

hatch_build.py (the wheel and sdist build hook) and `make run` (which needs only these files,
not the 100+ MB of npm packages GraphiQL's own build depends on) both use this module:

    python web/graphiql_files.py DEST   # DEST/<public name> ... and DEST/manifest.json

Standard library only: it runs in the build backend's environment and in `make run`'s venv.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOCKFILE = "web/package-lock.json"
TARBALLS = "web/npm-tarballs"
STATIC = "gateway/http/static"


class AssetError(Exception):
    """GraphiQL's files cannot be packaged; the message says what to do."""


def load_assets(root: Path) -> Mapping[str, str]:
    """``ASSETS`` of gateway/web_assets.py, loaded by path (the package cannot be imported)."""
    spec = importlib.util.spec_from_file_location("_vsee_assets", root / "gateway/web_assets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs: its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assets: Mapping[str, str] = module.ASSETS
    return assets


def package_of(relative: str) -> tuple[str, str]:
    """(npm package, path inside it) of a node_modules path: ``@scope/name`` or ``name``."""
    parts = relative.split("/")
    size = 2 if parts[0].startswith("@") else 1
    return "/".join(parts[:size]), "/".join(parts[size:])


def tarball_name(package: str, version: str) -> str:
    return f"{package.replace('/', '-').lstrip('@')}-{version}.tgz"


def npm_cache_dirs() -> list[Path]:
    """Where npm may have cached the tarballs: its own setting first, then the default."""
    found: list[Path] = []
    # npm reads its settings from npm_config_* variables, in either case.
    configured = os.environ.get("npm_config_cache") or os.environ.get("NPM_CONFIG_CACHE")  # noqa: SIM112
    if configured:
        found.append(Path(configured))
    npm = shutil.which("npm")
    if npm:
        done = subprocess.run(
            [npm, "config", "get", "cache"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            found.append(Path(done.stdout.strip()))
    found.append(Path.home() / ".npm")
    return found


def cached_tarball(integrity: str, caches: list[Path]) -> Path | None:
    """npm's content-addressed cache (cacache) stores a tarball under its integrity's digest."""
    algorithm, _, digest = integrity.partition("-")
    hexdigest = base64.b64decode(digest).hex()
    for cache in caches:
        path = cache / "_cacache" / "content-v2" / algorithm / hexdigest[:2] / hexdigest[2:4]
        path = path / hexdigest[4:]
        if path.is_file():
            return path
    return None


def verified(data: bytes, integrity: str, what: str) -> bytes:
    """``data`` if its hash is the lockfile's Subresource-Integrity value, else AssetError."""
    algorithm, _, digest = integrity.partition("-")
    if algorithm not in ("sha512", "sha384", "sha256"):
        raise AssetError(f"{what}: unsupported integrity algorithm {algorithm!r} in {LOCKFILE}")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != digest:
        raise AssetError(f"{what} does not match the integrity {LOCKFILE} pins for it")
    return data


def collect(root: Path) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, Any]]:
    """(tarballs by file name, files for gateway/http/static by relative path, manifest).

    Every byte comes from a tarball verified against the lockfile's integrity.
    """
    lock_path = root / LOCKFILE
    if not lock_path.is_file():
        raise AssetError(f"{LOCKFILE} is missing: build from a clone or from the sdist")
    lock = json.loads(lock_path.read_text())
    assets = load_assets(root)
    by_package: dict[str, dict[str, str]] = {}
    for public, relative in assets.items():
        package, inside = package_of(relative)
        by_package.setdefault(package, {})[public] = inside
    caches = npm_cache_dirs()
    node_modules = root / "web" / "node_modules"
    tarballs: dict[str, bytes] = {}
    files: dict[str, bytes] = {}
    manifest: dict[str, Any] = {"packages": {}, "files": {}}
    for package, wanted in sorted(by_package.items()):
        entry = lock.get("packages", {}).get(f"node_modules/{package}")
        if not entry or "integrity" not in entry or "version" not in entry:
            raise AssetError(f"{LOCKFILE} pins no version and integrity for {package}")
        version, integrity = entry["version"], entry["integrity"]
        name = tarball_name(package, version)
        shipped = root / TARBALLS / name
        source = shipped if shipped.is_file() else cached_tarball(integrity, caches)
        if source is None:
            raise AssetError(
                f"npm's cache has no tarball of {package}@{version}: run `npm ci` in web/ "
                "(Node 20+) before building, or set npm_config_cache to the cache it used"
            )
        tarball = verified(source.read_bytes(), integrity, f"the tarball of {package}@{version}")
        tarballs[name] = tarball
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            # npm packs everything under one top folder, "package/" by convention.
            members = {
                member.name.partition("/")[2]: member
                for member in archive.getmembers()
                if member.isfile()
            }

            def read(inside: str, members: Any = members, archive: Any = archive) -> bytes:
                extracted = archive.extractfile(members[inside])
                assert extracted is not None
                data: bytes = extracted.read()
                return data

            for public, inside in sorted(wanted.items()):
                if inside not in members:
                    raise AssetError(f"{package}@{version} has no {inside}")
                data = read(inside)
                installed = node_modules / package / inside
                if installed.is_file() and installed.read_bytes() != data:
                    raise AssetError(
                        f"web/node_modules/{package}/{inside} differs from the pinned "
                        f"{package}@{version}: run `npm ci` in web/ again"
                    )
                files[public] = data
                manifest["files"][public] = {
                    "package": package,
                    "path": inside,
                    "sha256": hashlib.sha256(data).hexdigest(),
                }
            licences = sorted(
                name
                for name in members
                if "/" not in name and name.lower().startswith(("license", "licence", "notice"))
            )
            for licence in licences:
                files[f"licenses/{package}/{licence}"] = read(licence)
        manifest["packages"][package] = {"version": version, "integrity": integrity}
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return tarballs, files, manifest


def write(dest: Path, files: Mapping[str, bytes]) -> None:
    """The files under ``dest`` (replacing what was there), as the wheel carries them."""
    if dest.exists():
        shutil.rmtree(dest)
    for relative, data in files.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def specs(root: Path) -> list[str]:
    """``name@version`` of each npm package the files come from, as the lockfile pins them."""
    lock = json.loads((root / LOCKFILE).read_text())
    packages = sorted({package_of(relative)[0] for relative in load_assets(root).values()})
    return [f"{name}@{lock['packages'][f'node_modules/{name}']['version']}" for name in packages]


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    if argv == ["--specs"]:
        # For `npm cache add`: fetches just these tarballs, not GraphiQL's build dependencies.
        print(" ".join(specs(root)))
        return 0
    if len(argv) != 1:
        print("usage: python web/graphiql_files.py DEST | --specs", file=sys.stderr)
        return 2
    try:
        _, files, manifest = collect(root)
    except AssetError as exc:
        print(f"graphiql_files: {exc}", file=sys.stderr)
        return 1
    write(Path(argv[0]), files)
    versions = ", ".join(f"{name}@{info['version']}" for name, info in manifest["packages"].items())
    print(f"GraphiQL's files ({versions}, integrity checked) in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
