"""Helpers for the deploy/ tests: paths, YAML, a Dockerfile and .dockerignore reader, settings."""

from __future__ import annotations

import json
import os
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import gateway.cli
from gateway.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx.conf"

SETTING_VARIABLES = frozenset(f"VSEE_{name.upper()}" for name in Settings.model_fields)
"""Every environment variable the gateway reads as a setting."""

SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    assert all(isinstance(doc, dict) for doc in documents), f"{path} has a non-mapping document"
    return documents


def settings_from_env(monkeypatch: pytest.MonkeyPatch, env: Mapping[str, str]) -> Settings:
    """Settings as the gateway would build them from exactly ``env`` (and no other VSEE_*)."""
    unknown = sorted(key for key in env if key.startswith("VSEE_") and key not in SETTING_VARIABLES)
    assert not unknown, f"not settings of the gateway (typo?): {unknown}"
    for key in list(os.environ):
        if key.startswith("VSEE_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def graceful_shutdown_seconds() -> float:
    """How long the gateway drains in-flight requests after SIGTERM."""
    for name, info in Settings.model_fields.items():
        if "shutdown" in name or "graceful" in name:
            assert isinstance(info.default, int | float)
            return float(info.default)
    source = Path(gateway.cli.__file__).read_text()
    found = re.findall(r"timeout_graceful_shutdown=(\d+(?:\.\d+)?)\b", source)
    assert found, "gateway/cli.py no longer passes timeout_graceful_shutdown=<seconds>"
    return max(float(value) for value in found)


# -- Dockerfile ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int

    def flags_and_rest(self) -> tuple[dict[str, str], str]:
        """Leading ``--name=value`` flags (COPY, HEALTHCHECK, ...) and what follows them."""
        flags: dict[str, str] = {}
        rest = self.value
        while rest.startswith("--"):
            token, _, rest = rest.partition(" ")
            name, _, value = token[2:].partition("=")
            flags[name] = value
            rest = rest.lstrip()
        return flags, rest

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD, else None."""
        _, rest = self.flags_and_rest()
        if self.keyword == "HEALTHCHECK":
            kind, _, rest = rest.partition(" ")
            if kind.upper() != "CMD":
                return None
        rest = rest.strip()
        if not rest.startswith("["):
            return None
        parsed = json.loads(rest)
        assert isinstance(parsed, list)
        assert all(isinstance(item, str) for item in parsed)
        return parsed

    def assignments(self) -> dict[str, str]:
        """``KEY=value`` pairs of ENV, LABEL or ARG (ARG without a default maps to "")."""
        pairs: dict[str, str] = {}
        for token in shlex.split(self.value):
            key, _, value = token.partition("=")
            pairs[key] = value
        return pairs


@dataclass
class Stage:
    index: int
    image: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [each for each in self.instructions if each.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for each in self.all("ENV"):
            merged.update(each.assignments())
        return merged


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction text) with continuations joined and comments dropped."""
    lines: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not buffer and not stripped):
            continue  # comments (and parser directives), also inside a continued instruction
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        lines.append((start, " ".join(part for part in buffer if part)))
        buffer = []
    assert not buffer, "the Dockerfile ends inside a continued instruction"
    return lines


def parse_dockerfile(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for line, instruction in logical_lines(text):
        keyword, _, value = instruction.partition(" ")
        keyword = keyword.upper()
        value = value.strip()
        if keyword == "FROM":
            parts = [part for part in value.split() if not part.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else None
            stages.append(Stage(len(stages), parts[0], name, line))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, value, line))
        else:
            assert keyword == "ARG", f"line {line}: only ARG may come before the first FROM"
    return stages


def dockerfile_stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


# -- .dockerignore -------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax (Go's filepath.Match plus ``**``) as a regular expression."""
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                i += 1
                if pattern.startswith("/", i + 1):
                    i += 1
                    out += "(?:.*/)?"
                else:
                    out += ".*"
            else:
                out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1 : end]
            out += "[" + ("^" + body[1:] if body.startswith(("!", "^")) else body) + "]"
            i = end
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out)


@dataclass(frozen=True)
class DockerIgnore:
    """What a .dockerignore leaves out: the last pattern matching a path or a parent decides."""

    patterns: tuple[tuple[re.Pattern[str], bool], ...]

    @classmethod
    def parse(cls, text: str) -> DockerIgnore:
        patterns: list[tuple[re.Pattern[str], bool]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            line = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
            patterns.append((_pattern_regex(line), include))
        return cls(tuple(patterns))

    def excluded(self, path: str) -> bool:
        parts = path.split("/")
        candidates = ["/".join(parts[:count]) for count in range(1, len(parts) + 1)]
        result = False
        for regex, include in self.patterns:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                result = not include
        return result

    def context(self, root: Path, prune: Iterable[str]) -> list[str]:
        """Files of ``root`` sent as build context (directories named in ``prune`` skipped)."""
        skipped = set(prune)
        sent: list[str] = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(name for name in dirs if name not in skipped)
            for name in sorted(files):
                relative = Path(folder, name).relative_to(root).as_posix()
                if not self.excluded(relative):
                    sent.append(relative)
        return sent
