"""Outbound webhooks: a JSON POST (Slack-compatible incoming webhooks take `{"text": ...}`).

Standard library only. Each attempt has a timeout; connection errors, timeouts, 429 and 5xx
answers are retried with exponential backoff (0.5 s, 1 s, 2 s, ... plus jitter); any other 4xx
is final, because sending the same payload again cannot fix it.
"""

import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

USER_AGENT = "cxculture-webhook/1"


class WebhookError(Exception):
    """The payload was not delivered."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class Delivery:
    status: int
    attempts: int


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = 5.0,
    attempts: int = 4,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST `payload` as JSON to `url`; return the final status, or raise `WebhookError`."""
    if urlsplit(url).scheme not in {"http", "https"}:
        raise WebhookError("Webhook URLs must be http or https.")
    body = json.dumps(payload).encode()
    last_error = "not attempted"
    last_status: int | None = None
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                response.read(1024)
                return Delivery(status=response.status, attempts=attempt)
        except urllib.error.HTTPError as exc:
            last_status, last_error = exc.code, f"HTTP {exc.code}"
            exc.close()
            if not _retryable(exc.code):
                break
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            last_status, last_error = None, f"{type(exc).__name__}: {exc}"
        if attempt < attempts:
            delay = backoff * 2 ** (attempt - 1)
            logger.info("Webhook attempt %s failed (%s); retrying", attempt, last_error)
            sleep(delay + random.uniform(0, delay / 4))  # noqa: S311 - jitter, not security
    raise WebhookError(f"Webhook not delivered: {last_error}", status=last_status, attempts=attempt)
