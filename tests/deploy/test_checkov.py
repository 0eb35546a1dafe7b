"""deploy/.checkov.yaml: checkov scans the Dockerfile and manifests; each skipped check says why."""

from __future__ import annotations

import re

from tests.deploy.support import DEPLOY, ROOT, load_yaml

CONFIG = DEPLOY / ".checkov.yaml"


def test_checkov_scans_the_dockerfile_and_the_manifests() -> None:
    config = load_yaml(CONFIG)
    assert config["directory"] == ["deploy"]
    assert set(config["framework"]) == {"dockerfile", "kubernetes"}
    assert config.get("soft-fail") in (None, False), "findings must fail the run"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.*\bcheckov\b", makefile, re.M), "make test (CI) runs checkov"
    assert "--config-file deploy/.checkov.yaml" in makefile


def test_every_skipped_check_is_explained_in_a_comment() -> None:
    lines = CONFIG.read_text().splitlines()
    skipped = load_yaml(CONFIG)["skip-check"]
    assert skipped
    for check in skipped:
        (index,) = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        reason = []
        for line in reversed(lines[:index]):
            if not line.strip().startswith("#"):
                break
            reason.append(line)
        assert len(" ".join(reason)) > 60, f"{check}: say why it is skipped"
