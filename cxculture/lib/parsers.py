"""Request body parsers for the API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

DRF's JSON parser lets a body of 100,000 `[` through to Python's parser, whose RecursionError
is a server error, and a body nested a few hundred levels deep parses but then drives
recursive code (serializers, the exception handler) towards the same limit. No request of
this API nests anywhere near `MAX_JSON_DEPTH`, so anything deeper is refused as a parse error
(400 in the error format) before a view sees it.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 32
TOO_DEEP_MESSAGE = f"JSON parse error - the body is nested more than {MAX_JSON_DEPTH} levels deep."


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """True when `data` (parsed JSON) nests lists and objects more than `limit` levels deep.
    Iterative, so it cannot itself run out of stack."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than `MAX_JSON_DEPTH` with a 400."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP_MESSAGE) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP_MESSAGE)
        return data
