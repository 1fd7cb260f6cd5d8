"""The watched folders as a source of raw articles: what they hold now, then what arrives.

Each file is read once as it is: the store's record of it (size and change times, and
why it failed) makes a second look a no-op, and a file that changes is read again.

A watched folder that cannot be read at two scans in a row (missing, a file now, not
readable), a whole `rescan_seconds` apart, keeps failing: it is in trouble (`folder:PATH`,
for `/healthz` and the `alerts:` channels) until a scan reads it again. A folder replaced
by a deploy is back before the next scan, and is no trouble.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path, PurePosixPath

from worker.errors import StateFull, StateGone, StateUnavailable
from worker.health import Health
from worker.model import FileClaim, FileRecord, RawArticle
from worker.settings.config import IngestSettings, WatchFolder
from worker.sources.files import Read, Unread, read_file, record_of
from worker.sources.watcher import Watcher, scan
from worker.store import FilesSeen
from worker.wording import quoted

__all__ = ["TICK", "WHOLE", "Due", "FolderSource", "Whole", "folder_problem"]

log = logging.getLogger(__name__)

# A file to read and why its matches are withheld (None: they are sent).
Due = tuple[Path, str | None]


class Whole:
    """Handed out by a start's backlog once a folder's files all are: the caller stores
    them before it asks for more, and only then is the folder remembered as scanned whole
    (after which what it holds is new). A stop or a crash before that leaves it unscanned,
    so that an archive not to be sent (`alert_existing: false`) is still not sent."""


WHOLE = Whole()

# The longest an arrival waits for a file when none comes: the caller looks up this often.
TICK = 0.5
# A file the state could not take is tried again after this long, twice as long each time
# up to the longest, while the state cannot be reached.
_FIRST_WAIT = 1.0
_LONGEST_WAIT = 30.0
# A full disk is tried again often, at the cost of one failed write: taken within seconds
# once there is room.
_LONGEST_WAIT_FULL = 4.0


class FolderSource:
    """Files in the watched folders, each handed out as a raw article once complete."""

    def __init__(
        self,
        folders: Iterable[WatchFolder],
        files: FilesSeen,
        settings: IngestSettings,
        clock: Callable[[], datetime],
        holder: str,
        lease: timedelta,
        health: Health | None = None,
        unread: Callable[[str], None] = lambda path: None,
    ) -> None:
        self._folders = list(folders)
        # What a path in each folder begins with, and the folder's name: the deepest first.
        self._keys = [
            (os.path.join(folder.path, ""), folder.path.name)
            for folder in sorted(self._folders, key=lambda f: len(f.path.parts), reverse=True)
        ]
        self._files = files
        self._max_bytes = int(settings.max_file_mb * 1_000_000)
        self._quiet = settings.settle_seconds
        self._rescan = settings.rescan_seconds
        self._clock = clock
        self._watcher: Watcher | None = None
        self._holder = holder  # the worker whose claims these are
        self._lease = lease  # how long a claim on a file holds
        self._reading: dict[str, tuple[os.stat_result, FileClaim]] = {}  # handed out, not done
        self._wait = _FIRST_WAIT  # before a file the state could not take is tried again
        self._scan_at: float | None = None  # a scan sooner than the rescan, after an outage
        self._health = health if health is not None else Health(clock)
        self._failing: dict[Path, int] = {}  # the scans in a row that could not read a folder
        self._told_unread = unread  # told of each file that cannot be read (for /metrics)
        self._scanned_once: set[Path] = set()  # folders whose first scan is done
        # Files put back whose matches are withheld (an archive not to be sent), by path.
        self._withheld_later: dict[str, str] = {}

    def scan(self, retry_failed: bool = False) -> Iterator[RawArticle | None]:
        """Each file not read as it is now, in name order (and, with `retry_failed`, those
        that failed before); None in place of each other file. While watching, a file that
        may still be written is left to settle first, and comes with the arrivals."""
        self._check_folders()
        return self._scan(self._folders, retry_failed, first=True)

    def backlog(self) -> Iterator[Due | Whole | None]:
        """What `scan(retry_failed=True)` would hand out, not read yet: each file's path and
        why its matches are withheld, for the caller to `read`; None in place of each other
        file; WHOLE after each folder. Many files are then read and stored together (see
        worker.ingest.batches)."""
        self._check_folders()
        return self._due(self._folders, retry_failed=True, first=True)

    def _scan(
        self, folders: Iterable[WatchFolder], retry_failed: bool = False, first: bool = False
    ) -> Iterator[RawArticle | None]:
        for due in self._due(folders, retry_failed, first):
            if isinstance(due, Whole):
                continue  # each file handed out was taken before this one was asked for
            if due is None:
                yield None
                continue
            path, withheld = due
            found = self._guarded(path, partial(self._hand_out, path, retry_failed))
            yield found if found is None or withheld is None else replace(found, withheld=withheld)

    def _due(
        self, folders: Iterable[WatchFolder], retry_failed: bool, first: bool
    ) -> Iterator[Due | Whole | None]:
        """Each file to read, with why its matches are withheld; None in place of the others;
        WHOLE after each folder of a start's scan."""
        try:
            known = self._files.files()
        except StateUnavailable as error:  # said once by the store; a scan comes soon
            self._unavailable(isinstance(error, StateFull))
            return
        except Exception as error:  # the store failed: the next scan looks again
            log.error("the watched folders are not scanned now: %s; the next scan will", error)
            return
        quiet_since = time.time() - self._quiet
        for folder in folders:
            withheld = self._archive(folder) if first else None
            for path in scan(folder):
                due = self._is_due(path, known, retry_failed, quiet_since)
                yield (path, withheld) if due else None
            if first:
                yield WHOLE
                if not self._left_in(folder):
                    self._first_scan_over(folder)

    def _archive(self, folder: WatchFolder) -> str | None:
        """Why the files of this scan are not sent: the first scan of a folder that does not
        alert on what it holds already (`alert_existing: false`); None: they are sent."""
        if folder.alert_existing or folder.path in self._scanned_once:
            return None
        if self._files.first_scan_done(str(folder.path)):
            self._scanned_once.add(folder.path)
            return None
        return "existing archive"

    def _left_in(self, folder: WatchFolder) -> bool:
        """Whether a file of the folder whose matches are withheld waits to be stored."""
        return any(Path(path).is_relative_to(folder.path) for path in self._withheld_later)

    def _first_scan_over(self, folder: WatchFolder) -> None:
        """Remember that the folder was scanned whole: what it holds from now on is new."""
        if folder.path in self._scanned_once or folder_problem(folder.path) is not None:
            return
        self._files.record_first_scan(str(folder.path), self._clock())
        self._scanned_once.add(folder.path)

    def _check_folders(self) -> None:
        """Report each folder that could not be read at this scan and the one before."""
        for folder in self._folders:
            problem = folder_problem(folder.path)
            failing = self._failing.get(folder.path, 0) + 1 if problem is not None else 0
            self._failing[folder.path] = failing
            if problem is None or failing >= 2:
                self._health.report(f"folder:{folder.path}", problem)

    @contextmanager
    def watch(self) -> Iterator[Iterator[RawArticle | None]]:
        """Watch the folders while the block lasts; the iterator gives each file that
        arrives once it is complete, and None when none came for a moment (`TICK`)."""
        watcher = Watcher(self._folders, quiet=self._quiet)
        watcher.start()
        self._watcher = watcher
        log.info("watching %s", ", ".join(str(folder.path) for folder in self._folders))
        try:
            yield self._arrivals(watcher)
        finally:
            self._watcher = None
            watcher.stop()

    def trouble(self) -> str | None:
        """What `/healthz` says of the watched folders: not watched, or a watch stopped."""
        watcher = self._watcher
        return "the folders are not watched" if watcher is None else watcher.trouble()

    def read(self, path: Path, retry_failed: bool = False) -> RawArticle | Unread | None:
        """The file as a raw article, unless it was read as it is now (or failed so, and is
        not to be retried) or another worker reads it: then None. A file that cannot be
        read is recorded with the reason, and that is given (Unread)."""
        known = self._files.file(str(path))
        try:
            stat = taken = path.stat()
        except FileNotFoundError:
            log.debug("%s: gone before it could be read", quoted(path))
            return None
        except OSError:
            stat, taken = path.lstat(), None  # a link loop, say: read_file says why
        if known is not None and known.up_to_date(stat, retry_failed):
            return None
        claim = FileClaim(
            self._key(path), stat.st_size, stat.st_mtime_ns, self._holder, retry_failed
        )
        now = self._clock()
        if not self._files.claim_file(claim, now, now + self._lease):
            log.debug("%s: read by another worker, or read as it is", quoted(path))
            return None
        found = read_file(path, self._max_bytes, now, taken)
        if isinstance(found, Unread):
            self._failed(str(path), found, claim)
            return found
        if isinstance(found, Read):
            self._reading[found.raw.uri] = (found.stat, claim)
            return found.raw
        return None  # gone meanwhile: its claim runs out by itself

    def _hand_out(self, path: Path, retry_failed: bool = False) -> RawArticle | None:
        found = self.read(path, retry_failed)
        if not isinstance(found, RawArticle):
            return None
        withheld = self._withheld_later.pop(str(path), None)  # put back during a first scan
        return found if withheld is None else replace(found, withheld=withheld)

    def done(self, raw: RawArticle, problem: str | None) -> None:
        """The article was ingested (`problem` says why not all of it could be read): its
        file is read again only once it changes."""
        self.done_all([(raw, problem)])

    def done_all(self, done: Iterable[tuple[RawArticle, str | None]]) -> None:
        """`done` for each of these, recorded together."""
        finished = []
        for raw, problem in done:
            stat, claim = self._reading.pop(raw.uri)
            finished.append((claim, record_of(raw.uri, stat, problem)))
        self._files.finish_files(finished, self._clock())

    def _failed(self, path: str, unread: Unread, claim: FileClaim) -> None:
        """Record why the file cannot be read: logged now, and again once it changes."""
        fields = {"event": "file.failed", "path": path, "error": unread.reason}
        log.warning("%s: %s", quoted(path), unread.reason, extra=fields)
        now = self._clock()
        self._files.finish_file(claim, record_of(path, unread.stat, unread.reason), now)
        self._told_unread(path)

    def _key(self, path: Path) -> str:
        """The file as every worker names it, wherever its host mounts the share: its path
        in its watch folder, under the folder's own name (`inbox/2024/a.txt`)."""
        named = str(path)
        for inside, name in self._keys:
            if named.startswith(inside):
                return str(PurePosixPath(name, named[len(inside) :]))
        return named  # named to `wirewatch ingest` from elsewhere

    def _guarded(self, path: Path, step: Callable[[], RawArticle | None]) -> RawArticle | None:
        """The per-file boundary on the source's side: a file that cannot be read or
        recorded now (the store is locked past its busy timeout, say) is left where it is,
        for the next scan, and the others go on."""
        try:
            found = step()
        except StateUnavailable as error:  # said once by the store: the file waits where it is
            self.put_back(path, error)
            return None
        except StateGone:  # said by the store: the daemon stops
            raise
        except Exception as error:
            fields = {"event": "file.postponed", "path": str(path), "error": str(error)}
            told = "%s: not taken now: %s; the next scan tries it again"
            log.error(told, quoted(path), error, extra=fields)
            log.debug("%s: why", quoted(path), exc_info=True)
            return None
        self.taken()
        return found

    def put_back(
        self,
        path: Path | RawArticle,
        error: StateUnavailable | None = None,
        withheld: str | None = None,
    ) -> None:
        """The file could not be taken now (the state cannot be reached, or is full, as
        `error` says): hand it out again after a while, longer each time it still cannot
        be, until it can; its matches still withheld, when they were (`withheld`: why)."""
        if isinstance(path, RawArticle):
            self._reading.pop(path.uri, None)
            withheld = path.withheld
            path = Path(path.uri)
        self.put_back_all([(path, withheld)], error)

    def put_back_all(self, files: Sequence[Due], error: StateUnavailable | None = None) -> None:
        """`put_back` for each of these files, the wait grown once for them all."""
        watcher = self._unavailable(isinstance(error, StateFull))
        self.not_stored(files)
        for path, _ in files:
            if watcher is not None:
                watcher.settler.later(path, self._wait)

    def not_stored(self, files: Iterable[Due]) -> None:
        """These files of a scan were not stored: their matches stay withheld when they were
        (handed out again, they still are), and a folder whose archive is not to be sent is
        not remembered as scanned whole (the next start's scan withholds them again)."""
        for path, withheld in files:
            if withheld is not None:
                self._withheld_later[str(path)] = withheld

    def taken(self) -> None:
        """Files were taken: the wait grown while the state could not take them is over."""
        self._wait = _FIRST_WAIT

    def _unavailable(self, full: bool = False) -> Watcher | None:
        """The state cannot be reached: wait longer before the next try; a scan comes then."""
        self._wait = min(self._wait * 2, _LONGEST_WAIT_FULL if full else _LONGEST_WAIT)
        self._scan_at = time.monotonic() + self._wait
        return self._watcher

    def _is_due(
        self, path: Path, known: dict[str, FileRecord], retry_failed: bool, quiet_since: float
    ) -> bool:
        """Whether the file is to be read now: not read as it is, and not being written."""
        record = known.get(str(path))
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False  # gone already
        except OSError:
            return True  # reading it records why it cannot be read
        if record is not None and record.up_to_date(stat, retry_failed):
            return False
        watcher = self._watcher
        if watcher is not None:
            if watcher.settler.writing(path):
                return False  # its close event brings it
            if stat.st_mtime > quiet_since:
                watcher.settler.settle(path)  # perhaps still being written: let it settle
                return False
        return True

    def _arrivals(self, watcher: Watcher) -> Iterator[RawArticle | None]:
        next_scan = time.monotonic() + self._rescan
        while True:
            if watcher.lost():
                log.warning("a watched folder was removed, replaced or is back: watching anew")
                watcher.restart()
                next_scan = time.monotonic()  # what arrived meanwhile is found by a scan
            for path in watcher.settler.ready(timeout=TICK):
                yield self._guarded(path, partial(self._hand_out, path))
            yield None
            if self._scan_at is not None and self._scan_at < next_scan:
                next_scan, self._scan_at = self._scan_at, None
            yield from self._scan_lost(watcher)
            if time.monotonic() >= next_scan:
                # A rescan finds what no event told: a file hard-linked in, say, or events
                # lost where the observer cannot tell of it.
                yield from self.scan()
                next_scan = time.monotonic() + self._rescan

    def _scan_lost(self, watcher: Watcher) -> Iterator[RawArticle | None]:
        """Scan the folders whose file events the kernel dropped, now, not at the rescan."""
        lost = watcher.settler.take_events_lost()
        if not lost:
            return
        for path in lost:
            log.warning(
                "%s: file events were lost (the kernel's queue overflowed): scanning now",
                quoted(path),
                extra={"event": "folder.events_lost", "path": str(path)},
            )
        yield from self._scan([folder for folder in self._folders if folder.path in lost])


def folder_problem(path: Path) -> str | None:
    """Why a watched folder cannot be read now, if it cannot."""
    try:
        with os.scandir(path):
            return None
    except FileNotFoundError:
        return "the watched folder is missing"
    except NotADirectoryError:
        return "the watched folder is a file, not a folder"
    except PermissionError:
        return "the watched folder cannot be read: permission denied"
    except OSError as error:
        return f"the watched folder cannot be read: {error.strerror or error}"
