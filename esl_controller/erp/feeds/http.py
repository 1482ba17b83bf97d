"""The one way the controller talks HTTP to an ERP: a `requests.Session` with a default
timeout, bearer auth, and urllib3 retries (backoff with jitter, honouring Retry-After) for
429 and 5xx. A 401/403 is never retried: a wrong token does not get better by asking again.
Retry-After is honoured up to `ESL_ERP_RETRY_AFTER_MAX` seconds: an ERP asking for an hour
must not park the sync for an hour. A timeout is reported as a timeout, with its length.
"""

from __future__ import annotations

from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from esl_controller.config import Settings
from esl_controller.erp.feeds.base import FeedError

RETRY_STATUSES = (429, 500, 502, 503, 504)
USER_AGENT = "esl-controller"


class TimeoutSession(requests.Session):
    """A session whose requests time out after `default_timeout_s` unless told otherwise
    (requests has no session-wide timeout, and without one a hung ERP hangs the sync)."""

    def __init__(self, default_timeout_s: float) -> None:
        super().__init__()
        self.default_timeout_s = default_timeout_s

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout_s)
        return super().request(method, url, *args, **kwargs)


class CappedRetry(Retry):
    """urllib3's Retry with Retry-After bounded by `retry_after_max` seconds."""

    def __init__(self, *args: Any, retry_after_max: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after_max = retry_after_max

    def new(self, **kw: Any) -> CappedRetry:
        kw.setdefault("retry_after_max", self.retry_after_max)
        return super().new(**kw)

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), self.retry_after_max)


def make_retry(
    *,
    total: int = 5,
    backoff_factor: float = 0.5,
    backoff_jitter: float = 0.3,
    retry_after_max: float = 60.0,
    statuses: tuple[int, ...] = RETRY_STATUSES,
) -> Retry:
    # raise_on_status=False: when retries run out the caller sees the last response and can
    # say which status the ERP kept answering, instead of a bare MaxRetryError.
    return CappedRetry(
        retry_after_max=retry_after_max,
        total=total,
        backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter,
        status_forcelist=statuses,
        respect_retry_after_header=True,
        allowed_methods=frozenset({"GET", "POST"}),
        raise_on_status=False,
    )


def make_session(
    settings: Settings,
    *,
    retries: int = 5,
    backoff_factor: float = 0.5,
    backoff_jitter: float = 0.3,
    auth_scheme: str = "Bearer",
    retry_statuses: tuple[int, ...] = RETRY_STATUSES,
) -> requests.Session:
    """The ERP session. Tests pass `backoff_factor=0` so retries do not sleep; a feed whose
    server says which errors are final passes the `retry_statuses` worth asking again."""
    session = TimeoutSession(settings.erp_timeout_s)
    adapter = HTTPAdapter(
        max_retries=make_retry(
            total=retries,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_jitter,
            retry_after_max=settings.erp_retry_after_max_s,
            statuses=retry_statuses,
        )
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    if settings.erp_token:
        session.headers["Authorization"] = f"{auth_scheme} {settings.erp_token}"
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    accept: tuple[int, ...] = (),
    **kwargs: Any,
) -> requests.Response:
    """Send one request; anything that makes the answer unusable becomes a `FeedError` that
    names `what` was being fetched and where. 2xx, 304 and the `accept` statuses are returned."""
    try:
        response = session.request(method, url, **kwargs)
    except requests.exceptions.RetryError as exc:
        raise FeedError(f"{what}: the ERP kept failing after retries ({url}): {exc}") from exc
    except requests.exceptions.RequestException as exc:
        if is_timeout(exc):
            seconds = kwargs.get("timeout", getattr(session, "default_timeout_s", None))
            after = f" after {seconds:g} s" if isinstance(seconds, int | float) else ""
            raise FeedError(f"{what}: the ERP timed out{after} at {url}") from exc
        raise FeedError(f"{what}: cannot reach the ERP at {url}: {exc}") from exc
    status = response.status_code
    if status in accept:
        return response
    if status in (401, 403):
        raise FeedError(f"ERP refused the credentials ({status}): check ESL_ERP_TOKEN")
    if status >= 400:
        raise FeedError(
            f"{what}: the ERP answered {status} {response.reason or ''} at {url}"
            f"{_error_detail(response)}".rstrip()
        )
    return response


def is_timeout(exc: BaseException) -> bool:
    """A timeout however requests wraps it: retried read timeouts surface as a
    ConnectionError around urllib3's MaxRetryError."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if is_timeout_leaf(current):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException) and is_timeout_leaf(reason):
            return True
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = nested or current.__cause__ or current.__context__
    return False


def is_timeout_leaf(exc: BaseException) -> bool:
    # urllib3's NewConnectionError (refused, no route) subclasses its ConnectTimeoutError.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError)


def _error_detail(response: requests.Response) -> str:
    """The server's own explanation, short: Odoo puts it in a JSON "message"."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f": {text[:200]}" if text else ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return f": {body['message'][:200]}"
    return ""
