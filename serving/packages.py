"""The Python packages the page ships to the browser: wheels pinned with hashes, fetched with pip.

``requirements-page.txt`` pins each one (``name==version --hash=sha256:...``).
:func:`ensure_page_packages` makes the git-ignored ``page-packages/`` hold
exactly those wheels, running ``pip download --require-hashes`` only when one
is missing or its bytes do not match its hash; nothing is ever committed, and
nothing is loaded from anywhere but this server. ``serving.builds`` compiles
them into the page's standard library, where Pyodide imports them like
``json``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from serving import REPO, SetupError, say
from serving.runtime import Runner

REQUIREMENTS = "requirements-page.txt"
WHEELS = "page-packages"  # git-ignored; the wheels pip downloaded
PIP_DOWNLOAD = (
    "-m", "pip", "download", "--require-hashes", "--no-deps", "--only-binary=:all:",
    "--disable-pip-version-check", "--quiet",
)

_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)((?:\s+--hash=sha256:[0-9a-f]{64})+)")


@dataclass(frozen=True)
class Pin:
    """One line of ``requirements-page.txt``: a project, its exact version, the hashes its wheel may have."""

    name: str
    version: str
    hashes: frozenset[str]

    @property
    def wheel_prefix(self) -> str:
        """How the wheel's file name starts (names normalised as wheels spell them).

        >>> Pin("markdown-it-py", "4.3.0", frozenset()).wheel_prefix
        'markdown_it_py-4.3.0-'
        """
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


def page_pins(repo: Path = REPO) -> list[Pin]:
    """The pins in ``requirements-page.txt`` (none without the file).

    SetupError for a line that is not ``name==version --hash=sha256:...``.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / REQUIREMENTS).write_text("# comment\\nmdurl==0.1.2 --hash=sha256:" + "ab" * 32 + "\\n")
    >>> [(pin.name, pin.version) for pin in page_pins(root)]
    [('mdurl', '0.1.2')]
    """
    try:
        text = (repo / REQUIREMENTS).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise SetupError(f"{REQUIREMENTS} could not be read ({error})") from None
    pins = []
    for number, line in enumerate(text.replace("\\\n", " ").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.fullmatch(line)
        if match is None:
            raise SetupError(f"{REQUIREMENTS} line {number}: expected 'name==version --hash=sha256:<hex>'")
        hashes = frozenset(re.findall(r"sha256:([0-9a-f]{64})", match.group(3)))
        pins.append(Pin(match.group(1), match.group(2), hashes))
    return pins


def wheel_for(pin: Pin, folder: Path) -> Path | None:
    """The wheel in ``folder`` that ``pin`` names and whose SHA-256 it lists, if there is one."""
    for wheel in sorted(folder.glob(f"{pin.wheel_prefix}*.whl")) if folder.is_dir() else []:
        if hashlib.sha256(wheel.read_bytes()).hexdigest() in pin.hashes:
            return wheel
    return None


def page_wheels(repo: Path = REPO) -> list[Path]:
    """The pinned wheels as they are in ``page-packages/`` now (SetupError if one is missing)."""
    wheels = []
    for pin in page_pins(repo):
        wheel = wheel_for(pin, repo / WHEELS)
        if wheel is None:
            raise SetupError(f"{WHEELS}/ has no wheel of {pin.name} {pin.version} with a pinned hash")
        wheels.append(wheel)
    return wheels


def ensure_page_packages(repo: Path = REPO, run: Runner = subprocess.run) -> bool:
    """Make ``page-packages/`` hold every pinned wheel, checked against its hash; True if pip ran.

    pip downloads into a temporary folder first, so an interrupted download
    leaves nothing half-written; a wheel whose bytes do not match is never
    used. Wheels of other versions are removed.
    """
    pins = page_pins(repo)
    folder = repo / WHEELS
    if all(wheel_for(pin, folder) for pin in pins):
        _remove_unpinned(folder, pins)
        return False
    say(f"Fetching the page's Python packages with pip ({REQUIREMENTS})...")
    folder.mkdir(exist_ok=True)
    download = Path(tempfile.mkdtemp(prefix=".download-", dir=folder))
    try:
        command = [sys.executable, *PIP_DOWNLOAD, "--dest", str(download), "-r", str(repo / REQUIREMENTS)]
        try:
            result = run(command, cwd=repo, check=False)
        except FileNotFoundError:
            raise SetupError("pip was not found: install Python's pip, then try again.") from None
        if result.returncode != 0:
            raise SetupError(f"pip could not download the packages in {REQUIREMENTS} (exit code {result.returncode}).")
        for pin in pins:
            wheel = wheel_for(pin, download)
            if wheel is None:
                raise SetupError(f"pip did not download a wheel of {pin.name} {pin.version} with a pinned hash")
            wheel.replace(folder / wheel.name)
    finally:
        shutil.rmtree(download, ignore_errors=True)
    _remove_unpinned(folder, pins)
    return True


def _remove_unpinned(folder: Path, pins: list[Pin]) -> None:
    keep = {wheel for pin in pins if (wheel := wheel_for(pin, folder)) is not None}
    for wheel in folder.glob("*.whl") if folder.is_dir() else []:
        if wheel not in keep:
            wheel.unlink()
