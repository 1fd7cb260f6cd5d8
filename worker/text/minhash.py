"""Near-duplicate texts: MinHash signatures over word shingles, grouped with LSH bands.

Outlets rewrite the same wire copy: a few words changed, a paragraph moved, a line
added. Their texts share most runs of three words, which different stories on the same
topic do not. A signature keeps `HASHES` minima of the text's shingles under as many
hash functions; the share of equal minima between two signatures estimates the Jaccard
similarity of their shingle sets. Signatures that agree on a whole band of rows become
candidates, and only candidates are compared, so grouping does not compare every pair.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence

from worker.text.words import tokenize

__all__ = [
    "HASHES",
    "Signature",
    "estimate",
    "from_text",
    "same_story_groups",
    "shingles",
    "signature",
    "to_text",
]

Signature = tuple[int, ...]

HASHES = 64
SHINGLE = 3  # words a shingle holds
_PRIME = (1 << 61) - 1
_MASK = (1 << 32) - 1
# Fixed seeds: a signature stored today is comparable with one made after a restart.
_random = random.Random(20260105)
_PERMUTATIONS = tuple(
    (_random.randrange(1, _PRIME), _random.randrange(0, _PRIME)) for _ in range(HASHES)
)
_EMPTY: Signature = (_MASK,) * HASHES


def shingles(text: str) -> set[str]:
    """The runs of `SHINGLE` folded words of `text` (the whole text when it is shorter)."""
    words = [token.text for token in tokenize(text)]
    if len(words) <= SHINGLE:
        return {" ".join(words)} if words else set()
    return {" ".join(words[at : at + SHINGLE]) for at in range(len(words) - SHINGLE + 1)}


def signature(text: str) -> Signature:
    """The MinHash signature of `text`'s shingles."""
    values = [_hashed(shingle) for shingle in shingles(text)]
    if not values:
        return _EMPTY
    return tuple(min([(a * x + b) % _PRIME for x in values]) & _MASK for a, b in _PERMUTATIONS)


def estimate(one: Signature, other: Signature) -> float:
    """The Jaccard similarity of two texts' shingles, estimated from their signatures."""
    if one == _EMPTY or other == _EMPTY:
        return 0.0
    return sum(a == b for a, b in zip(one, other, strict=True)) / HASHES


def same_story_groups(signatures: Sequence[Signature], threshold: float) -> list[int]:
    """For each signature, the index of the first one of its story: signatures whose
    estimate reaches `threshold` are of one story, and so is a chain of them."""
    rows = _rows_per_band(threshold)
    parent = list(range(len(signatures)))
    for members in _buckets(signatures, rows):
        # Each member against one member of every story met in the bucket so far: a
        # bucket of many rewrites of one story costs a comparison a member, not a pair.
        stories: list[int] = []
        for index in members:
            for other in stories:
                if _root(parent, other) == _root(parent, index):
                    break
                if estimate(signatures[other], signatures[index]) >= threshold:
                    first, second = _root(parent, other), _root(parent, index)
                    parent[max(first, second)] = min(first, second)
                    break
            else:
                stories.append(index)
    return [_root(parent, index) for index in range(len(signatures))]


def to_text(sig: Signature) -> str:
    """A signature as stored: hexadecimal numbers separated by spaces."""
    return " ".join(f"{value:x}" for value in sig)


def from_text(text: str) -> Signature:
    """A stored signature; ValueError when it is not one."""
    values = tuple(int(part, 16) for part in text.split())
    if len(values) != HASHES:
        raise ValueError(f"a signature has {HASHES} numbers, not {len(values)}")
    return values


def _hashed(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")


def _rows_per_band(threshold: float) -> int:
    """The most rows a band may have while pairs at 70% of `threshold` still meet in one:
    candidates are checked, so a band too loose costs a comparison, one too tight a story."""
    best = 1
    for rows in (1, 2, 4, 8, 16):
        bands = HASHES // rows
        if (1 / bands) ** (1 / rows) <= 0.7 * threshold:
            best = rows
    return best


def _buckets(signatures: Sequence[Signature], rows: int) -> Iterable[list[int]]:
    """The indexes of the signatures that agree on one band, per band and value."""
    buckets: dict[tuple[int, Signature], list[int]] = {}
    for index, sig in enumerate(signatures):
        if sig == _EMPTY:
            continue
        for band in range(HASHES // rows):
            key = (band, sig[band * rows : (band + 1) * rows])
            buckets.setdefault(key, []).append(index)
    return (members for members in buckets.values() if len(members) > 1)


def _root(parent: list[int], index: int) -> int:
    while parent[index] != index:
        parent[index] = parent[parent[index]]
        index = parent[index]
    return index
