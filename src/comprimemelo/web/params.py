"""Query parameters as typed values, with the API's error when they are not."""

from __future__ import annotations

from comprimemelo.domain.errors import InvalidInput


def int_arg(raw: str | None, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    """The query parameter ``name``'s value ``raw`` as an integer in bounds (None if absent).

    :raise InvalidInput: if it is not one.
    """
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidInput(f"query parameter {name!r} must be an integer {bounds}", code="invalid_query")
    return value
