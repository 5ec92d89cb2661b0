"""Typed params: a dataclass, parsed from the template's JSON with errors
that name the field, as the Rust SDK's `parse_params` does
(``min_notinal: unknown field `min_notinal`, expected one of …``)."""

import dataclasses
import json
import typing
from enum import Enum


class ParamsError(ValueError):
    """A bad param; the message starts with the field's path."""


def parse_params(cls, params_json: str):
    """`params_json` (empty reads as `{}`) as an instance of dataclass `cls`."""
    try:
        value = json.loads(params_json) if params_json.strip() else {}
    except ValueError as e:
        raise ParamsError(f"params are not JSON: {e}") from None
    return _convert(cls, value, "")


def _at(path: str, message: str) -> ParamsError:
    return ParamsError(f"{path}: {message}" if path else message)


def _convert(ty, value, path):
    origin = typing.get_origin(ty)
    if ty is typing.Any:
        return value
    if origin is typing.Union:
        args = [a for a in typing.get_args(ty) if a is not type(None)]
        return None if value is None else _convert(args[0], value, path)
    if origin in (list, typing.List):
        if not isinstance(value, list):
            raise _at(path, f"invalid type: expected a list, got {_kind(value)}")
        (item,) = typing.get_args(ty) or (typing.Any,)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(ty):
        return _dataclass(ty, value, path)
    if isinstance(ty, type) and issubclass(ty, Enum):
        names = {m.name.lower().replace("_", "-"): m for m in ty}
        if value not in names:
            raise _at(path, f"unknown variant `{value}`, expected one of "
                      + ", ".join(f"`{n}`" for n in names))
        return names[value]
    if ty is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _at(path, f"invalid type: {_kind(value)}, expected f64")
        return float(value)
    if ty is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _at(path, f"invalid type: {_kind(value)}, expected an integer")
        return value
    if ty in (str, bool) and not isinstance(value, ty):
        raise _at(path, f"invalid type: {_kind(value)}, expected {ty.__name__}")
    return value


def _dataclass(cls, value, path):
    if not isinstance(value, dict):
        raise _at(path, f"invalid type: {_kind(value)}, expected an object")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in value:
        if key not in fields:
            expected = ", ".join(f"`{n}`" for n in fields)
            sub = f"{path}.{key}" if path else key
            raise _at(sub, f"unknown field `{key}`, expected one of {expected}")
    args = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name in value:
            args[name] = _convert(hints[name], value[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _at(path, f"missing field `{name}`")
    return cls(**args)


def _kind(value) -> str:
    if isinstance(value, str):
        return f'string "{value}"'
    return {bool: "boolean", int: "integer", float: "floating point", list: "sequence",
            dict: "map", type(None): "null"}.get(type(value), type(value).__name__)
