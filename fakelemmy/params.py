"""Typed reading of query strings and JSON bodies, failing the way Lemmy 0.19 fails.

Lemmy deserializes with serde: a wrong type is a 400 `{"error": "unknown", "message":
"Query deserialize error: ..."}` (or `Json deserialize error`). Booleans are only
`true`/`false`: Python's `True` in a query string is rejected, as Lemmy rejects it.
"""

from __future__ import annotations

import builtins
from typing import Any


class ApiError(Exception):
    """An error answer: `status` with Lemmy's body `{"error": ..., "message"?: ...}`."""

    def __init__(self, status: int, error: str, message: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.message = message

    def body(self) -> dict:
        body = {"error": self.error}
        if self.message is not None:
            body["message"] = self.message
        return body


def not_found() -> ApiError:
    """What a database NotFound that travels up becomes (404, the only 404s Lemmy sends)."""
    return ApiError(404, "unknown", "Record not found")


class Query:
    """A query string read field by field."""

    prefix = "Query deserialize error"

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def _bad(self, name: str, why: str) -> ApiError:
        return ApiError(400, "unknown", f"{self.prefix}: {why} for field `{name}`")

    def str(self, name: builtins.str) -> builtins.str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(name, f"invalid type: {type(value).__name__}, expected a string")
        return value

    def int(self, name: builtins.str) -> builtins.int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise self._bad(name, "invalid type, expected i64")
        try:
            return int(value)
        except ValueError:
            raise self._bad(name, f"invalid digit found in string {value!r}") from None

    def bool(self, name: builtins.str) -> builtins.bool | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self._bad(name, f"provided string was not `true` or `false`: {value!r}")

    def enum(self, name: builtins.str, allowed: tuple[builtins.str, ...]) -> builtins.str | None:
        value = self.str(name)
        if value is not None and value not in allowed:
            raise self._bad(name, f"unknown variant `{value}`, expected one of {list(allowed)}")
        return value

    def int_list(self, name: builtins.str) -> list[builtins.int] | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self._bad(name, "invalid type, expected a sequence of integers")
        return value


class Body(Query):
    """A JSON body: same reading, but JSON types are strict (no "12" for 12)."""

    prefix = "Json deserialize error"

    def int(self, name: builtins.str) -> builtins.int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(name, f"invalid type: {type(value).__name__} {value!r}, expected i32")
        return value

    def bool(self, name: builtins.str) -> builtins.bool | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._bad(name, f"invalid type: {value!r}, expected a boolean")
        return value

    def require_int(self, name: builtins.str) -> builtins.int:
        value = self.int(name)
        if value is None:
            raise self._bad(name, "missing field")
        return value

    def require_bool(self, name: builtins.str) -> builtins.bool:
        value = self.bool(name)
        if value is None:
            raise self._bad(name, "missing field")
        return value

    def require_str(self, name: builtins.str) -> builtins.str:
        value = self.str(name)
        if value is None:
            raise self._bad(name, "missing field")
        return value
