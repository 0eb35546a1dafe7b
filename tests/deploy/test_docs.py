"""deploy/README.md documents every setting and every file of deploy/."""

from __future__ import annotations

import re

from tests.deploy.support import DEPLOY, SETTING_VARIABLES

README = (DEPLOY / "README.md").read_text()


def test_every_setting_has_a_row_in_the_settings_table() -> None:
    documented = set(re.findall(r"`(VSEE_[A-Z0-9_]+)`", README))
    missing = sorted(SETTING_VARIABLES - documented)
    assert not missing, f"add these to the Settings table of deploy/README.md: {missing}"
    unknown = sorted(documented - SETTING_VARIABLES - {"VSEE_LB_PORT", "VSEE_SANDBOX_PORT"})
    assert not unknown, f"deploy/README.md names settings the gateway lacks: {unknown}"


def test_every_file_of_deploy_is_described() -> None:
    first_cells = [line.split("|")[1] for line in README.splitlines() if line.startswith("| `")]
    listed = {name for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)}
    files = {path.name for path in DEPLOY.iterdir() if path.is_file()} - {"README.md"}
    assert files <= listed, f"describe in deploy/README.md's first table: {sorted(files - listed)}"
    assert "k8s/" in listed
