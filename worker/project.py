"""A new project folder (`wirewatch init`): a commented config.yaml, example rules and
participants, the editor schemas, and an inbox. A file already there is never replaced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from worker.rules.schema import SCHEMAS, schema_text

__all__ = ["INBOX", "Made", "make_project", "starter_files"]

INBOX = "inbox"
# The files of a new project, as written from worker/starter/.
_STARTER = ("config.yaml", "rules/participants.yaml", "rules/watch.yaml")


@dataclass(frozen=True)
class Made:
    """What `make_project` wrote, what it found there already and kept, and what it left
    out because a project is there already."""

    written: tuple[Path, ...]
    kept: tuple[Path, ...]
    left_out: tuple[Path, ...] = ()


def starter_files() -> dict[str, str]:
    """Each file of a new project by its path in the folder, with its text; the schemas
    are made from this wirewatch's own models, so they fit the version installed."""
    starter = files("worker") / "starter"
    texts = {name: starter.joinpath(name).read_text(encoding="utf-8") for name in _STARTER}
    return texts | {f"schemas/{name}.json": schema_text(name) for name in SCHEMAS}


def make_project(folder: Path, texts: Mapping[str, str]) -> Made:
    """Write each of `texts` under `folder` where no file is yet, and make the inbox;
    OSError when the folder cannot be made or written to.

    The config and the example rules go together: where one of them is already, none is
    written (an example rule naming a participant the folder's own rules lack would break
    them), and no inbox is made; the schemas are written where missing all the same."""
    here = [name for name in _STARTER if (folder / name).exists()]
    left_out = [folder / name for name in _STARTER if here and name not in here]
    if not here:
        (folder / INBOX).mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    kept: list[Path] = []
    for name, text in texts.items():
        path = folder / name
        if path in left_out:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # "x": a file that appeared since it was looked for is still not replaced
            with path.open("x", encoding="utf-8") as new:
                new.write(text)
        except FileExistsError:
            kept.append(path)
            continue
        written.append(path)
    return Made(tuple(written), tuple(kept), tuple(left_out))
