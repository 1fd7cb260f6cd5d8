"""Render the seeds' digest as HTML and take screenshots of it in headless Chromium.

    python tools/preview.py [FOLDER]     (or: make preview)

Writes digest.html and two PNG files into FOLDER (default var/preview): the whole digest
as a desktop mail client shows it (1280 px wide) and at a phone's width (390 px), and
prints the paths of the PNG files. Needs Debian's `chromium` (`make browser` installs it).
The tests open digests in the same browser, the same way (tests/digest/).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from playwright.sync_api import Browser, Page, Playwright, Route, sync_playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get update && apt-get install -y chromium"
WIDTHS = {"desktop": 1280, "phone": 390}
# The page is served from this address by the browser itself: nothing is fetched from
# the network, and anything else the page asks for is refused and noted.
PAGE_URL = "http://digest.invalid/"
CONFIG = """\
state: var/wirewatch.db
timezone: Europe/Berlin
watch: [{path: seeds}]
rules: rules/
channels:
  preview: {type: file, path: outbox/, schedule: "every 1h"}
"""
# Chromium reaches for the network at start; this machine may have none.
Scheme = Literal["light", "dark"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


class BrowserError(Exception):
    """Chromium cannot be started; the message says why and what to do."""


@dataclass
class Shown:
    """A digest open in the browser, and the addresses the page asked for besides itself."""

    page: Page
    requests: list[str] = field(default_factory=list)


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with a fresh profile; BrowserError says why not."""
    if not CHROMIUM.exists():
        raise BrowserError(f"{CHROMIUM} is missing; as root: {INSTALL}")
    try:
        return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # Playwright's Error: the browser's own words on why
        raise BrowserError(f"{CHROMIUM} does not start: {error}") from None


def show(browser: Browser, html: str, width: int, scheme: Scheme = "light") -> Shown:
    """A new page `width` px wide in the `scheme` colour scheme, showing `html`."""
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    shown = Shown(page)

    def serve(route: Route) -> None:
        if route.request.url == PAGE_URL:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
        else:
            shown.requests.append(route.request.url)
            route.abort()

    page.route("**/*", serve)
    page.goto(PAGE_URL, wait_until="load")
    return shown


def seeds_outbox(root: Path) -> Path:
    """The outbox of a project in `root` made of the seeds and the rules, after one run:
    the digest as the daemon writes it (.txt, .html, .json and .eml)."""
    for part in ("seeds", "rules"):
        shutil.copytree(REPO / part, root / part)
    (root / "config.yaml").write_text(CONFIG, encoding="utf-8")
    command = [sys.executable, "-m", "worker", "run", "--once", "-c", str(root / "config.yaml")]
    subprocess.run(command, check=True, capture_output=True)
    return root / "outbox"


def main(folder: Path) -> int:
    """Build the digest of the seeds, then screenshot it at each width."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as temporary:
        (written,) = seeds_outbox(Path(temporary)).glob("*.html")
        html = written.read_text(encoding="utf-8")
    (folder / "digest.html").write_text(html, encoding="utf-8")
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for name, width in WIDTHS.items():
                png = folder / f"digest-{name}.png"
                show(browser, html, width).page.screenshot(path=png, full_page=True)
                print(png)
            browser.close()
    except BrowserError as missing:
        print(missing, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else REPO / "var" / "preview"))
