"""Render the seeds' digest as HTML and take screenshots of it in headless Chromium.

    python tools/preview.py [FOLDER]     (or: make preview)

Writes digest.html and two PNG files into FOLDER (default var/preview): one as a desktop
mail client shows it, one at a phone's width. Needs Debian's `chromium`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": (1024, 1400), "phone": (390, 2400)}
CONFIG = """\
state: var/wirewatch.db
timezone: Europe/Berlin
watch: [{path: seeds}]
rules: rules/
channels:
  preview: {type: file, path: outbox/, schedule: "every 1h"}
"""
# Chromium reaches for the network at start; this machine may have none.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def main(folder: Path) -> int:
    """Build the digest of the seeds, then screenshot it at each width."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / "digest.html"
    html.write_text(_seeds_digest(), encoding="utf-8")
    for name, (width, height) in WIDTHS.items():
        png = folder / f"digest-{name}.png"
        _screenshot(chromium, html, png, width, height)
        print(png)
    return 0


def _seeds_digest() -> str:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        for part in ("seeds", "rules"):
            shutil.copytree(REPO / part, root / part)
        (root / "config.yaml").write_text(CONFIG, encoding="utf-8")
        command = [sys.executable, "-m", "worker", "run", "--once", "-c", str(root / "config.yaml")]
        subprocess.run(command, check=True, capture_output=True)
        (page,) = (root / "outbox").glob("*.html")
        return page.read_text(encoding="utf-8")


def _screenshot(chromium: str, html: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png}",
                html.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "var" / "preview"))
