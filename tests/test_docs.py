"""Every relative link of the README and docs/ resolves: pages move, and a dead link is the
first thing a newcomer meets."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]
    missing = [t for t in targets if not (page.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page.relative_to(REPO)}: links to nothing: {missing}"


def test_the_two_commands_are_what_ci_and_the_pipeline_test_run():
    """`make test` is CI's command (.ci/run); `make repro` installs as `make test` does, then runs
    `dvc repro`, which tests/test_pipeline.py runs on the tiny configuration."""
    import subprocess

    text = (REPO / "README.md").read_text().split("\n## Two commands\n", 1)[1].split("\n## ", 1)[0]
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.splitlines()] == ["make repro", "make test"]
    assert (REPO / ".ci/run").read_text().strip().endswith("\nmake test")
    dry = [line for line in subprocess.run(["make", "-n", "-W", "requirements.txt", "repro", "test"], cwd=REPO,
                                           capture_output=True, text=True, check=True).stdout.splitlines()
           if not line.startswith("make")]  # "make[1]: Entering directory" when run under make test
    installs = [line for line in dry if "pip install" in line]
    assert len(installs) == 2  # the pinned requirements, then the project itself; once for both targets
    assert dry[-2].endswith(" dvc repro") and " -m pytest " in dry[-1]
