"""deploy/graphiql_assets.py puts exactly the files GraphiQL serves where the gateway looks."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from gateway.http import WEB_DIR, GraphiQL
from gateway.http._graphiql import ASSETS
from tests.deploy.support import DEPLOY, ROOT


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("graphiql_assets", DEPLOY / "graphiql_assets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()


def fake_node_modules(root: Path) -> Path:
    """An npm tree with every asset, their packages' metadata, and files never to be copied."""
    for relative in ASSETS.values():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {relative} */")
        package = root / script.package_root(relative)
        (package / "package.json").write_text("{}")
        (package / "LICENSE").write_text("MIT")
        (package / "index.js").write_text("module.exports = {}")
    (root / "playwright-core").mkdir()
    (root / "playwright-core" / "cli.js").write_text("")
    return root


def test_copies_the_assets_where_graphiql_finds_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = fake_node_modules(tmp_path / "npm")
    dest = tmp_path / "site-packages" / "web" / "node_modules"
    assert GraphiQL(dest).missing() == list(ASSETS.values())

    assert script.main([str(source), "--dest", str(dest)]) == 0

    assert GraphiQL(dest).missing() == []
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    packages = sorted({script.package_root(path) for path in ASSETS.values()})
    expected = sorted(
        [*ASSETS.values()]
        + [f"{package}/{name}" for package in packages for name in ("LICENSE", "package.json")]
    )
    assert copied == expected
    assert f"{len(expected)} files" in capsys.readouterr().out


def test_a_missing_asset_fails_the_build(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = fake_node_modules(tmp_path / "npm")
    lost = next(iter(ASSETS.values()))
    (source / lost).unlink()

    assert script.main([str(source), "--dest", str(tmp_path / "out")]) == 1

    assert lost in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_default_destination_is_where_the_installed_gateway_looks() -> None:
    assert script.DEFAULT_DEST == WEB_DIR / "node_modules" == GraphiQL().node_modules


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("react/umd/react.production.min.js", "react"),
        ("@graphiql/react/dist/style.css", "@graphiql/react"),
        ("graphiql/graphiql.min.css", "graphiql"),
    ],
)
def test_package_root(path: str, package: str) -> None:
    assert script.package_root(path) == package


@pytest.mark.skipif(
    not (ROOT / "web" / "node_modules").is_dir(), reason="npm ci has not run in web/"
)
def test_the_real_npm_tree_has_every_asset(tmp_path: Path) -> None:
    script.copy_assets(ROOT / "web" / "node_modules", tmp_path)
    assert GraphiQL(tmp_path).missing() == []
