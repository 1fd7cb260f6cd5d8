"""The watched folders and the feeds as one source: what the loop takes articles from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from worker.errors import StateUnavailable
from worker.model import RawArticle
from worker.sources.feed import FeedSource
from worker.sources.folder import FolderSource

__all__ = ["FoldersAndFeeds"]


class FoldersAndFeeds:
    """The folders' files and the feeds' entries, each told back to the source it came from."""

    def __init__(self, folders: FolderSource, feeds: FeedSource) -> None:
        self._folders = folders
        self._feeds = feeds

    @contextmanager
    def watch(self) -> Iterator[Iterator[RawArticle | None]]:
        """Files as they arrive, and between them the entries of the feeds polled meanwhile."""
        with self._folders.watch() as files, self._feeds.watch():
            yield self._arrivals(files)

    def _arrivals(self, files: Iterator[RawArticle | None]) -> Iterator[RawArticle | None]:
        for raw in files:
            yield raw
            if raw is None:  # the folders were quiet for a moment
                yield from self._feeds.ready()

    def put_back(self, raw: RawArticle, error: StateUnavailable | None = None) -> None:
        """Hand it out again later, by the source it came from."""
        source = self._feeds if self._feeds.owns(raw) else self._folders
        source.put_back(raw, error)

    def done(self, raw: RawArticle, problem: str | None) -> None:
        """Tell the source it came from what became of it."""
        source = self._feeds if self._feeds.owns(raw) else self._folders
        source.done(raw, problem)
