"""The README is a user's manual that stays true: its defaults table is the policy's, its set-up
commands leave nothing for git to track; docs/FORMAT.md's table of model numbers is the code's."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from flowzip import policy
from flowzip.fileformat.header import NUMBERED_MODELS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_defaults_table_is_the_policys():
    section = README.split("## Default models", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.+?) \|$", section, re.M))
    assert rows == policy.Policy().roles()


def test_the_formats_model_numbers_are_the_codes():
    section = (ROOT / "docs" / "FORMAT.md").read_text().split("# Version 6", 1)[1]
    rows = re.findall(r"^\| (\d+) \| (\d+) \| ([0-9a-f]{8}) \|", section, re.M)
    assert [(int(family), weights) for _, family, weights in rows] == list(NUMBERED_MODELS[1:])
    assert [int(n) for n, _, _ in rows] == list(range(1, len(NUMBERED_MODELS)))


def test_the_readme_is_a_manual_not_a_diary():
    assert len(README.splitlines()) <= 150


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"), reason="not a git checkout")
def test_the_quick_start_writes_only_ignored_files():
    command = README.split("```bash\n", 1)[1].split("\n```", 1)[0]
    outputs = re.findall(r"-o (\S+)", command)
    assert outputs
    for path in outputs:
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0
        assert ignored, f"{path} would be left untracked in the checkout"
