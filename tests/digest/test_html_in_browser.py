"""The HTML digest as a reader sees it: opened in Chromium at a phone's and a desktop's
width, in light and dark mode, as the file channel writes it and as the email carries it.

Two digests are shown: the seeds' (made by the daemon from seeds/ and rules/) and a large
one of 200 matches with long unbroken titles and links, Arabic, Hebrew and Chinese text.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tools.preview import BrowserError, Scheme, Shown, launch, seeds_outbox, show
from worker.digest.build import build_digest
from worker.digest.render import Renderer
from worker.model import Article, Hit, StoredMatch
from worker.notify.email import build_message
from worker.rules.ruleset import Keywords, Participant, ParticipantCondition, Rule, RuleSet

PHONE, DESKTOP = 390, 1280
NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Shape:
    """A digest to show: its HTML, and the JSON document it was made of."""

    html: str
    document: dict[str, Any]


# --- the digests --------------------------------------------------------------------------


def email_html(eml: bytes) -> str:
    """The HTML part of an email, as a mail client decodes it."""
    message = email.message_from_bytes(eml, policy=email.policy.default)
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the email has no HTML part"
    html: str = part.get_content()
    return html


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Shape]:
    outbox = seeds_outbox(tmp_path_factory.mktemp("seeds"))
    (page,) = outbox.glob("*.html")
    document = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    eml = page.with_suffix(".eml").read_bytes()
    return {
        "seeds": Shape(page.read_text(encoding="utf-8"), document),
        "seeds email": Shape(email_html(eml), document),
    }


UNBROKEN = "Interkontinentalraketenabwehrsystemverhandlungsdelegationsvorsitzender" * 4
TITLES = (
    UNBROKEN,
    "روسيا والصين توقعان اتفاقية جديدة للتعاون في مجال الطاقة خلال القمة في بكين",
    "רוסיה וסין חותמות על הסכם חדש לשיתוף פעולה בתחום האנרגיה בפסגה בבייג'ינג",
    "中俄两国元首在北京举行会谈双方同意进一步深化新时代全面战略协作伙伴关系并签署能源合作协议",
    "Putin and Xi meet in Beijing to sign a gas deal, their twelfth meeting in as many years",
)
BODIES = (
    f"{UNBROKEN} signed the gas deal. The talks lasted two days.",
    "وقع بوتين وشي اتفاقية الغاز في بكين. واستمرت المحادثات يومين كاملين.",
    "פוטין ושי חתמו על עסקת הגז בבייג'ינג. השיחות נמשכו יומיים שלמים.",
    "普京与习近平在北京签署了天然气协议。会谈持续了两天。",
    "Putin met Xi in Beijing. They signed a gas deal that runs for thirty years.",
)
TERMS = ("gas", "الغاز", "הגז", "天然气", "gas")
PEOPLE = RuleSet(
    participants={
        "putin": Participant(name="Vladimir Putin", aliases=("Putin", "بوتين", "פוטין", "普京")),
        "xi": Participant(name="习近平", aliases=("Xi",)),
    },
    rules=(
        Rule(
            id="leaders",
            title="Meetings of the heads of state of the Russian Federation and the People's "
            "Republic of China, and of their foreign ministers",
            participants=ParticipantCondition(any=("putin",)),
            priority="high",
        ),
        Rule(id="energy", title="الطاقة · אנרגיה · 能源", keywords=Keywords(any=TERMS)),
        Rule(id="wire", title=UNBROKEN[:90], keywords=Keywords(any=TERMS)),
    ),
)


def large_match(number: int) -> StoredMatch:
    kind = number % len(TITLES)
    body, term = BODIES[kind], TERMS[kind]
    at = body.index(term)
    hits = (Hit(term, "body", at, at + len(term)),)
    rule = PEOPLE.rules[number % len(PEOPLE.rules)].id
    article = Article(
        id=f"{number:016x}",
        title=f"{TITLES[kind]}-{number}",  # each its own, to find its link by
        body=body,
        date=date(2026, 11, 1 + number % 23),
        path=f"/srv/news/{UNBROKEN}/{number}.txt",
        source="AgenceFrancePresseInternationalNachrichtenagenturNewswire" if number % 3 else None,
        # Every third article has no link: its path is shown instead.
        url=f"https://news.example.org/{UNBROKEN}/{number}?utm_source={'x' * 80}"
        if number % 3
        else None,
    )
    return StoredMatch(number, rule, article, hits, NOW)


@pytest.fixture(scope="module")
def large() -> dict[str, Shape]:
    matches = [large_match(number) for number in range(200)]
    digest = build_digest("world-desk", matches, PEOPLE, NOW, None, "Asia/Jerusalem")
    rendered = Renderer().render(digest)
    message = build_message(digest, rendered, "wirewatch@example.org", ["desk@example.org"])
    document = json.loads(rendered.json)
    return {
        "large": Shape(rendered.html, document),
        "large email": Shape(email_html(message.as_bytes()), document),
    }


DIGESTS = ("seeds", "seeds email", "large", "large email")


@pytest.fixture(scope="module")
def digests(seeds: dict[str, Shape], large: dict[str, Shape]) -> dict[str, Shape]:
    return seeds | large


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module; a test that cannot have it fails, saying why."""
    with sync_playwright() as playwright:
        try:
            started = launch(playwright)
        except BrowserError as error:
            pytest.fail(str(error))
        yield started
        started.close()


Opener = Callable[[str, int, Scheme], Shown]


@pytest.fixture(scope="module")
def opened(browser: Browser, digests: dict[str, Shape]) -> Iterator[Opener]:
    """Opens a digest by name at a width and in a colour scheme, once for the module: the
    tests only look at the pages."""
    pages: dict[tuple[str, int, Scheme], Shown] = {}

    def open_digest(name: str, width: int, scheme: Scheme) -> Shown:
        if (name, width, scheme) not in pages:
            pages[name, width, scheme] = show(browser, digests[name].html, width, scheme)
        return pages[name, width, scheme]

    yield open_digest
    for shown in pages.values():
        shown.page.close()


def shown_faults(faults: list[str]) -> str:
    return f"{len(faults)} faults, the first: " + "; ".join(faults[:5])


# What is wider than its box: a box whose content is wider than it, or that hides some of
# its content, and a box that sticks out of the one holding it.
CUT_OFF = """() => {
  const named = (e) => e.tagName.toLowerCase() + ' "' + e.textContent.trim().slice(0, 50) + '"';
  const faults = [];
  for (const element of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    const holder = element.parentElement.getBoundingClientRect();
    if (element.clientWidth && element.scrollWidth > element.clientWidth + 1)
      faults.push(`${named(element)} is ${element.scrollWidth}px wide in ${element.clientWidth}px`);
    else if (style.overflow !== 'visible' && element.scrollHeight > element.clientHeight + 1)
      faults.push(`${named(element)} hides some of its text`);
    else if (box.width && (box.left < holder.left - 1 || box.right > holder.right + 1))
      faults.push(`${named(element)} sticks out of its container`);
  }
  return faults;
}"""

# The contrast (WCAG 2) of each piece of text with the background it is drawn on.
LOW_CONTRAST = """() => {
  const parse = (colour) => {
    const found = colour.match(/^rgba?\\(([^)]*)\\)$/);
    if (!found) throw new Error('a colour that is not rgb(): ' + colour);
    const [r, g, b, a] = found[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [r, g, b, a === undefined ? 1 : a];
  };
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3]));
  const dark = matchMedia('(prefers-color-scheme: dark)').matches
    && getComputedStyle(document.documentElement).colorScheme.includes('dark');
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const colour = parse(getComputedStyle(e).backgroundColor);
      if (colour[3] > 0) layers.unshift(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reduce((below, top) => over(top, below), dark ? [18, 18, 18] : [255, 255, 255]);
  };
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((v) => v / 255).map(
      (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const faults = [];
  for (const element of document.body.querySelectorAll('*')) {
    const text = [...element.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join('').trim();
    if (!text || !element.getClientRects().length) continue;
    const back = background(element);
    const fore = over(parse(getComputedStyle(element).color), back);
    const [light, deep] = [luminance(fore), luminance(back)].sort((x, y) => y - x);
    const ratio = (light + 0.05) / (deep + 0.05);
    if (ratio < 4.5)
      faults.push(`${ratio.toFixed(2)}:1, rgb(${fore.map(Math.round)}) on `
        + `rgb(${back.map(Math.round)}): "${text.slice(0, 40)}"`);
  }
  return faults;
}"""

LINKS = """() => [...document.querySelectorAll('a')].map(
  (a) => [a.textContent.replace(/\\s+/g, ' ').trim(), a.getAttribute('href')])"""


# --- what a reader sees -------------------------------------------------------------------


@pytest.mark.parametrize("name", DIGESTS)
def test_a_phone_scrolls_the_digest_only_down(opened: Opener, name: str) -> None:
    page = opened(name, PHONE, "light").page
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE, f"the page is {wide}px wide on a {PHONE}px phone"


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@pytest.mark.parametrize("name", DIGESTS)
def test_nothing_is_cut_off(opened: Opener, name: str, width: int) -> None:
    faults: list[str] = opened(name, width, "light").page.evaluate(CUT_OFF)
    assert not faults, shown_faults(faults)


@pytest.mark.parametrize("name", DIGESTS)
def test_the_digest_loads_nothing_from_the_network(opened: Opener, name: str) -> None:
    shown = opened(name, DESKTOP, "light")
    shown.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert shown.requests == []


@pytest.mark.parametrize("name", DIGESTS)
def test_each_title_links_to_its_article(
    opened: Opener, digests: dict[str, Shape], name: str
) -> None:
    links = opened(name, DESKTOP, "light").page.evaluate(LINKS)
    for item in digests[name].document["items"]:
        article = item["article"]
        title = " ".join(article["title"].split())
        targets = [href for text, href in links if text == title]
        assert targets == ([article["url"]] * len(targets) if article["url"] else [])
        assert targets or not article["url"], f"{title[:40]} links nowhere"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", DIGESTS)
def test_text_stands_out_from_its_background(opened: Opener, name: str, scheme: Scheme) -> None:
    faults: list[str] = opened(name, DESKTOP, scheme).page.evaluate(LOW_CONTRAST)
    assert not faults, shown_faults(faults)
