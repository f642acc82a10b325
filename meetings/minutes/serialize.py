"""MinutesData <-> JSON, so a generated version keeps the exact content it was made from
(issuing re-renders the approved snapshot with its number, never newer edits)."""

from __future__ import annotations

import dataclasses
import json
import logging
import types
import typing
from datetime import date, datetime
from functools import cache
from typing import Any

from .data import MinutesData

logger = logging.getLogger(__name__)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in minutes data")
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(args[0], value)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp)
        return tuple(_decode(inner, v) for v in value)
    if tp is datetime:
        return datetime.fromisoformat(value["$dt"])
    if tp is date:
        return date.fromisoformat(value["$date"])
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {f.name: _decode(hints[f.name], value[f.name])
                  for f in dataclasses.fields(tp) if f.name in value}
        return tp(**kwargs)
    return value


def dumps(data: MinutesData) -> str:
    return json.dumps(_encode(data), ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> MinutesData:
    return _decode(MinutesData, json.loads(text))
