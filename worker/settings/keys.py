"""The keys a model takes at a place of its YAML, found by following its types along the
path pydantic gives a mistake: what an unknown key is likely a typo of."""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any, Literal

from pydantic.fields import FieldInfo

__all__ = ["keys_at"]


def keys_at(model: Any, loc: Sequence[str | int]) -> frozenset[str]:
    """The keys, as written in YAML, that `model` takes in the mapping at `loc`, less those
    no longer used; none when the place is not a model's or cannot be told."""
    kind: Any = model
    for item in loc:
        kind = _inside(kind, item)
        if kind is None:
            return frozenset()
    fields = _fields(_bare(kind)[0])
    return frozenset(key for key, field in fields.items() if not field.deprecated)


def _fields(kind: Any) -> dict[str, FieldInfo]:
    """The fields of a model or pydantic dataclass by the key YAML gives them (an alias,
    when a field has one); none for any other type."""
    fields = getattr(kind, "__pydantic_fields__", None)
    if not isinstance(fields, dict):
        return {}
    return {field.alias or name: field for name, field in fields.items()}


def _bare(kind: Any) -> tuple[Any, str | None]:
    """`kind` without its annotations and without None as its one other choice, and the
    key that tells the choices apart when it is a union of models."""
    tag = None
    while True:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin is typing.Annotated:
            kind = args[0]
            tag = next((m.discriminator for m in args[1:] if isinstance(m, FieldInfo)), tag)
        elif origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
            kind = args[0] if args[1] is type(None) else args[1]
        else:
            return kind, tag if isinstance(tag, str) else None


def _inside(kind: Any, item: str | int) -> Any:
    """The type of the value at `item` of a `kind`; None when it cannot be told."""
    kind, tag = _bare(kind)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    fields = _fields(kind)
    if fields and isinstance(item, str):
        return fields[item].annotation if item in fields else None
    if origin in (tuple, list) and isinstance(item, int):
        return args[0] if origin is list or args[1:] == (Ellipsis,) else None
    if origin is dict and isinstance(item, str):
        return args[1]
    if origin in (typing.Union, types.UnionType) and tag is not None:
        return _chosen(args, tag, item)
    return None


def _chosen(choices: Sequence[Any], tag: str, item: str | int) -> Any:
    """The model of a union that `tag: item` picks; pydantic names it by `item`."""
    for choice in choices:
        field = _fields(choice).get(tag)
        annotation = None if field is None else field.annotation
        if typing.get_origin(annotation) is Literal and item in typing.get_args(annotation):
            return choice
    return None
