"""web/graphiql_files.py (used by hatch_build.py and make run) trusts only pinned tarballs."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import shutil
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from gateway.web_assets import ASSETS

ROOT = Path(__file__).resolve().parents[1]


def load_hook() -> ModuleType:
    path = ROOT / "web" / "graphiql_files.py"
    spec = importlib.util.spec_from_file_location("graphiql_files_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source tree with this repo's asset table, a lockfile and the sdist's tarball folder."""
    root = tmp_path / "project"
    (root / "gateway" / "http").mkdir(parents=True)
    shutil.copy(ROOT / "gateway" / "web_assets.py", root / "gateway")
    (root / "web").mkdir()
    shutil.copy(ROOT / "web" / "graphiql_files.py", root / "web")
    packages: dict[str, dict[str, bytes]] = {}
    for relative in ASSETS.values():
        package, inside = hook.package_of(relative)
        packages.setdefault(package, {"LICENSE": b"MIT", "index.js": b"//"})[inside] = (
            f"/* {relative} */".encode()
        )
    lock: dict[str, object] = {"packages": {}}
    (root / hook.TARBALLS).mkdir(parents=True)
    for package, files in packages.items():
        data = tarball(files)
        (root / hook.TARBALLS / hook.tarball_name(package, "1.0.0")).write_bytes(data)
        lock["packages"][f"node_modules/{package}"] = {  # type: ignore[index]
            "version": "1.0.0",
            "integrity": integrity(data),
        }
    (root / hook.LOCKFILE).write_text(json.dumps(lock))
    # No npm cache of the machine's: only what the test puts in place may be found.
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(hook.shutil, "which", lambda name: None)
    return root


def test_the_files_come_out_of_verified_tarballs(project: Path) -> None:
    tarballs, files, manifest = hook.collect(project)
    assert set(tarballs) == {
        hook.tarball_name(hook.package_of(path)[0], "1.0.0") for path in ASSETS.values()
    }
    for public, relative in ASSETS.items():
        assert files[public] == f"/* {relative} */".encode()
        assert manifest["files"][public]["sha256"] == hashlib.sha256(files[public]).hexdigest()
    assert files["licenses/graphiql/LICENSE"] == b"MIT"
    assert not [name for name in files if name.endswith("index.js")], "only what is served"
    assert json.loads(files["manifest.json"]) == manifest


def test_a_tarball_that_does_not_match_the_lockfile_fails(project: Path) -> None:
    shipped = project / hook.TARBALLS / hook.tarball_name("graphiql", "1.0.0")
    shipped.write_bytes(tarball({"graphiql.min.js": b"evil()", "graphiql.min.css": b""}))
    with pytest.raises(hook.AssetError, match="does not match the integrity"):
        hook.collect(project)


def test_an_edited_node_modules_fails(project: Path) -> None:
    installed = project / "web" / "node_modules" / "graphiql" / "graphiql.min.js"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(b"edited()")
    with pytest.raises(hook.AssetError, match="differs from the pinned"):
        hook.collect(project)


def test_npm_s_cache_is_found_by_integrity(project: Path, tmp_path: Path) -> None:
    shipped = project / hook.TARBALLS / hook.tarball_name("react", "1.0.0")
    data = shipped.read_bytes()
    shipped.unlink()
    with pytest.raises(hook.AssetError, match="run `npm ci` in web/"):
        hook.collect(project)
    hexdigest = hashlib.sha512(data).hexdigest()
    cached = tmp_path / "npm-cache" / "_cacache" / "content-v2" / "sha512" / hexdigest[:2]
    cached = cached / hexdigest[2:4] / hexdigest[4:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)
    _, files, _ = hook.collect(project)
    assert files["react.production.min.js"] == b"/* react/umd/react.production.min.js */"


def test_a_package_the_lockfile_does_not_pin_fails(project: Path) -> None:
    lock = json.loads((project / hook.LOCKFILE).read_text())
    del lock["packages"]["node_modules/react-dom"]
    (project / hook.LOCKFILE).write_text(json.dumps(lock))
    with pytest.raises(hook.AssetError, match="pins no version and integrity for react-dom"):
        hook.collect(project)


def test_the_command_writes_the_wheels_layout_and_names_the_specs(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_by_path(project / "web" / "graphiql_files.py")
    assert script.main(["--specs"]) == 0
    assert sorted(capsys.readouterr().out.split()) == [
        "graphiql@1.0.0",
        "graphql-sse@1.0.0",
        "react-dom@1.0.0",
        "react@1.0.0",
    ]
    dest = tmp_path / "out"
    (dest / "stale").mkdir(parents=True)
    assert script.main([str(dest)]) == 0
    assert not (dest / "stale").exists()
    assert {path.name for path in dest.iterdir()} >= {*ASSETS, "manifest.json", "licenses"}
    shutil.rmtree(project / hook.TARBALLS)
    assert script.main([str(tmp_path / "none")]) == 1
    assert "npm ci" in capsys.readouterr().err


def load_by_path(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"copy_{abs(hash(path))}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.shutil.which = lambda name: None  # no npm: only the test's tarballs count
    return module
