"""One entry per story: an article's matches of several rules joined, the same story from
several outlets joined, and articles of a story the channel showed recently made updates.

Pure: the signatures of the stories shown before come from the store, through the builder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from worker.model import Article, Digest, DigestArticle, DigestUpdate, StoredMatch, StoryShown
from worker.text.minhash import Signature, from_text, same_story_groups, signature, to_text

__all__ = [
    "ArticleMatches",
    "Story",
    "by_story",
    "digest_article",
    "shown_in",
    "signatures_of",
]


@dataclass(frozen=True)
class ArticleMatches:
    """An article with every match it has in the digest, its highest rule first."""

    article: Article
    matches: tuple[StoredMatch, ...]
    participants: tuple[str, ...]


@dataclass(frozen=True)
class Story:
    """An entry: its leading article, and the same story from other outlets."""

    lead: ArticleMatches
    also: tuple[ArticleMatches, ...] = field(default=())

    @property
    def members(self) -> tuple[ArticleMatches, ...]:
        """Every article of the story, the leading one first."""
        return (self.lead, *self.also)


def signatures_of(articles: Sequence[Article]) -> dict[str, Signature]:
    """Each article's signature, of its title and text."""
    return {article.id: signature(f"{article.title}\n{article.body}") for article in articles}


def by_story(
    articles: Sequence[ArticleMatches],
    signatures: Mapping[str, Signature],
    shown: Sequence[StoryShown],
    threshold: float,
) -> tuple[list[Story], list[DigestUpdate]]:
    """The articles (in the digest's order) as entries, and as updates those of a story in
    `shown`. An entry leads with its first article."""
    # An article shown before and matched again (by a rule it was not shown for) is an
    # entry of its own, as it was: it is no new source of its story.
    again = {row.article_id for row in shown}
    fresh = [entry for entry in articles if entry.article.id not in again]
    readable = [row for row in shown if _readable(row.signature)]
    known: list[Signature] = [from_text(row.signature) for row in readable]
    known += [signatures[entry.article.id] for entry in fresh]
    roots = same_story_groups(known, threshold)
    earlier, pending = roots[: len(readable)], roots[len(readable) :]
    story_of = {entry.article.id: root for entry, root in zip(fresh, pending, strict=True)}
    told = set(earlier)  # the stories shown before
    updates: dict[int, list[ArticleMatches]] = {}
    stories: dict[int | str, list[ArticleMatches]] = {}
    for entry in articles:
        root = story_of.get(entry.article.id)
        if root is None:
            stories[entry.article.id] = [entry]
        else:
            (updates if root in told else stories).setdefault(root, []).append(entry)
    return (
        [Story(members[0], tuple(members[1:])) for members in stories.values()],
        [_update(readable, earlier, root, members) for root, members in updates.items()],
    )


def shown_in(digest: Digest, signatures: Mapping[str, Signature]) -> list[StoryShown]:
    """What the digest shows, article by article with its story: for the store to keep."""
    rows = [
        _shown(article, item.article, digest.generated_at, signatures)
        for item in digest.items
        for article in (item.article, *item.also)
    ]
    rows += [
        _shown(article, update.story, update.first_sent, signatures)
        for update in digest.updates
        for article in update.articles
    ]
    return [row for row in rows if row is not None]


def _shown(
    article: DigestArticle,
    story: DigestArticle,
    first_sent: datetime,
    signatures: Mapping[str, Signature],
) -> StoryShown | None:
    if article.id not in signatures:
        return None
    lead = Article(story.id, story.title, "", story.date, story.path or "", story.source, story.url)
    return StoryShown(article.id, to_text(signatures[article.id]), lead, first_sent)


def digest_article(article: Article) -> DigestArticle:
    """An article as a digest shows it."""
    return DigestArticle(
        id=article.id,
        title=article.title,
        date=article.date,
        source=article.source,
        url=article.url,
        path=article.path,
    )


def _update(
    shown: Sequence[StoryShown], earlier: Sequence[int], root: int, members: list[ArticleMatches]
) -> DigestUpdate:
    first = min(
        (row for row, at in zip(shown, earlier, strict=True) if at == root),
        key=lambda row: row.first_sent,
    )
    return DigestUpdate(
        story=digest_article(first.story),
        first_sent=first.first_sent,
        articles=tuple(digest_article(member.article) for member in members),
    )


def _readable(text: str) -> bool:
    try:
        from_text(text)
    except ValueError:
        return False
    return True
