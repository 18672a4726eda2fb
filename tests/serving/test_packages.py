"""The page's Python packages: pinned with hashes in requirements-page.txt, fetched by pip, checked."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from serving import SetupError
from serving.packages import REQUIREMENTS, WHEELS, ensure_page_packages, page_pins, page_wheels
from tests.serving.fakes import ROOT, write

WHEEL = b"PK fake wheel bytes"
OTHER = b"PK other wheel bytes"


def pinned(root: Path, *contents: bytes) -> Path:
    hashes = " ".join(f"--hash=sha256:{hashlib.sha256(c).hexdigest()}" for c in contents)
    write(root / REQUIREMENTS, f"# what the page ships\nmarkdown-it-py==4.3.0 {hashes}  # the parser\n")
    return root


class FakePip:
    """Stands in for ``pip download``: writes ``content`` as the wheel into ``--dest``."""

    def __init__(self, content: bytes, code: int = 0) -> None:
        self.content, self.code = content, code
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **_kwargs: Any) -> Any:
        self.commands.append(command)
        dest = Path(command[command.index("--dest") + 1])
        (dest / "markdown_it_py-4.3.0-py3-none-any.whl").write_bytes(self.content)
        return subprocess.CompletedProcess(command, self.code)


def test_the_pins_are_read_with_their_hashes_and_comments_ignored(tmp_path: Path) -> None:
    (pin,) = page_pins(pinned(tmp_path, WHEEL, OTHER))
    assert (pin.name, pin.version) == ("markdown-it-py", "4.3.0")
    assert pin.hashes == {hashlib.sha256(WHEEL).hexdigest(), hashlib.sha256(OTHER).hexdigest()}


@pytest.mark.parametrize("line", ["markdown-it-py==4.3.0", "markdown-it-py>=4 --hash=sha256:" + "a" * 64, "junk"])
def test_a_pin_without_an_exact_version_and_a_hash_is_refused(tmp_path: Path, line: str) -> None:
    write(tmp_path / REQUIREMENTS, line + "\n")
    with pytest.raises(SetupError, match="line 1"):
        page_pins(tmp_path)


def test_pip_downloads_what_is_missing_with_hashes_required(tmp_path: Path) -> None:
    pip = FakePip(WHEEL)
    assert ensure_page_packages(pinned(tmp_path, WHEEL), run=pip) is True
    (command,) = pip.commands
    assert command[:3] == [sys.executable, "-m", "pip"]
    assert {"download", "--require-hashes", "--no-deps", "--only-binary=:all:"} <= set(command)
    assert command[-2:] == ["-r", str(tmp_path / REQUIREMENTS)]
    assert [w.name for w in page_wheels(tmp_path)] == ["markdown_it_py-4.3.0-py3-none-any.whl"]
    assert ensure_page_packages(tmp_path, run=FakePip(b"never")) is False  # present and checked: pip not run
    assert [p.name for p in (tmp_path / WHEELS).iterdir()] == ["markdown_it_py-4.3.0-py3-none-any.whl"]


def test_a_wheel_whose_bytes_do_not_match_its_hash_is_never_used(tmp_path: Path) -> None:
    pinned(tmp_path, WHEEL)
    with pytest.raises(SetupError, match="pinned hash"):
        ensure_page_packages(tmp_path, run=FakePip(b"tampered"))
    assert list((tmp_path / WHEELS).iterdir()) == []  # nothing half-checked left behind
    write(tmp_path / WHEELS / "markdown_it_py-4.3.0-py3-none-any.whl", "tampered on disk")
    with pytest.raises(SetupError, match="no wheel of markdown-it-py"):
        page_wheels(tmp_path)
    assert ensure_page_packages(tmp_path, run=FakePip(WHEEL)) is True  # fetched again, and replaced


def test_a_failed_download_says_so(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="pip could not download"):
        ensure_page_packages(pinned(tmp_path, WHEEL), run=FakePip(WHEEL, code=1))


def test_wheels_no_longer_pinned_are_removed(tmp_path: Path) -> None:
    pinned(tmp_path, WHEEL)
    write(tmp_path / WHEELS / "markdown_it_py-3.0.0-py3-none-any.whl", "old")
    ensure_page_packages(tmp_path, run=FakePip(WHEEL))
    assert [p.name for p in (tmp_path / WHEELS).iterdir()] == ["markdown_it_py-4.3.0-py3-none-any.whl"]


def test_the_project_pins_markdown_it_and_its_one_dependency_for_the_page() -> None:
    assert {(pin.name, pin.version) for pin in page_pins(ROOT)} >= {("markdown-it-py", "4.3.0"), ("mdurl", "0.1.2")}
    # The tests import the same versions under CPython (requirements-dev.txt).
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    for pin in page_pins(ROOT):
        assert f"{pin.name}=={pin.version}\n" in dev
