"""Copy the GraphiQL files the gateway serves out of an ``npm ci`` tree, to where it looks.

deploy/Dockerfile runs this in its builder stage with the virtualenv's Python, with ``--dest``
set to ``$VSEE_WEB_DIR/node_modules`` of the runtime stage, so only the allow-listed files
(``gateway.http._graphiql.ASSETS``, a few MB, plus each package's ``package.json`` and licence)
reach the image instead of all of node_modules (over 100 MB). Without ``--dest`` the files go
where the installed package looks when VSEE_WEB_DIR is unset (``gateway.http.WEB_DIR``).

    python deploy/graphiql_assets.py SOURCE_NODE_MODULES [--dest DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from gateway.http._graphiql import ASSETS, WEB_DIR

DEFAULT_DEST = WEB_DIR / "node_modules"


def package_root(relative: str) -> str:
    """The npm package a node_modules path belongs to (``@scope/name`` or ``name``)."""
    parts = relative.split("/")
    return "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]


def files_to_copy(source: Path, assets: Iterable[str]) -> tuple[list[str], list[str]]:
    """(present, missing): the assets, then each package's package.json and licence files."""
    wanted = sorted(set(assets))
    missing = [path for path in wanted if not (source / path).is_file()]
    extras: set[str] = set()
    for package in {package_root(path) for path in wanted}:
        folder = source / package
        if not folder.is_dir():
            continue
        for candidate in folder.iterdir():
            name = candidate.name.lower()
            if candidate.is_file() and (
                name == "package.json" or name.startswith(("license", "licence", "notice"))
            ):
                extras.add(f"{package}/{candidate.name}")
    present = [path for path in wanted if path not in missing] + sorted(extras)
    return present, missing


def copy_assets(source: Path, dest: Path, assets: Iterable[str] = ASSETS.values()) -> list[str]:
    """Copy the assets from ``source`` into ``dest``; raise ``FileNotFoundError`` if any lack."""
    present, missing = files_to_copy(source, assets)
    if missing:
        raise FileNotFoundError(
            f"not in {source} (did `npm ci` run in web/?): " + ", ".join(missing)
        )
    for relative in present:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target)
    return present


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="node_modules that `npm ci` filled")
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"default: {DEFAULT_DEST}")
    args = parser.parse_args(argv)
    try:
        copied = copy_assets(args.source, args.dest)
    except FileNotFoundError as exc:
        print(f"graphiql_assets: {exc}", file=sys.stderr)
        return 1
    print(f"graphiql_assets: {len(copied)} files into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
