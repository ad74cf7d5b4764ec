"""Pages, docs and comments describe the product; local demo data stays out of git."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLAN_TALK = re.compile(r"issue [0-9]+|session [0-9]|arrives? with", re.I)


def test_no_page_doc_or_comment_talks_about_issues_or_the_plan():
    found = []
    paths = [ROOT / "README.md", *(ROOT / "docs").rglob("*"), *(ROOT / "src").rglob("*")]
    for path in paths:
        if not path.is_file() or path.suffix not in {".py", ".html", ".md", ".yaml", ".js", ".css"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PLAN_TALK.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


def test_the_demo_data_directory_and_its_key_are_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "bastion-demo/secret.key", "bastion-data/bastion.db"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.split() == ["bastion-demo/secret.key", "bastion-data/bastion.db"]
