"""One JSON-2 call to Odoo (19+): `POST {url}/json/2/{model}/{method}` with the named
arguments as a JSON object, `Authorization: bearer <API key>` (the session carries it) and
`X-Odoo-Database` when the server hosts several databases.

Odoo answers an error with a JSON body naming the exception (`name`, e.g.
"odoo.exceptions.AccessError") and its `message`; both are kept in the error, because
"you may not read Pricelist Rule" tells an integrator what to fix and a bare 403 does not.
Only what can get better by waiting is retried (429, 502, 503, 504 and timeouts, by the
session); access rights, a missing model or record, a refused argument or a server-side
exception give the same answer every time and fail the run at once.
"""

from __future__ import annotations

from typing import Any

import requests

from esl_controller.erp.feeds.base import FeedError
from esl_controller.erp.feeds.http import send

RETRY_STATUSES = (429, 502, 503, 504)
ERROR_STATUSES = tuple(range(400, 600))
MAX_MESSAGE = 300


class OdooError(FeedError):
    """Odoo refused a call; `status`, `name` and `message` are Odoo's own."""

    def __init__(self, text: str, status: int, name: str, message: str) -> None:
        super().__init__(text)
        self.status = status
        self.name = name
        self.message = message


class OdooClient:
    def __init__(self, base_url: str, session: requests.Session, database: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.database = database

    def call(self, model: str, method: str, body: dict[str, Any]) -> Any:
        """The decoded return value of `model.method(**body)`, or `OdooError`."""
        url = f"{self.base_url}/json/2/{model}/{method}"
        headers = {"X-Odoo-Database": self.database} if self.database else {}
        what = f"Odoo {model}.{method}"
        response = send(
            self.session,
            "POST",
            url,
            what=what,
            json=body,
            headers=headers,
            accept=ERROR_STATUSES,
        )
        if response.status_code >= 400:
            raise odoo_error(what, response)
        try:
            return response.json()
        except ValueError as exc:
            raise FeedError(f"{what} at {url}: body is not JSON ({exc})") from None

    def search_read(self, model: str, domain: list, fields: list[str], **extra: Any) -> list:
        rows = self.call(model, "search_read", {"domain": domain, "fields": fields, **extra})
        return _records(model, rows)

    def read(self, model: str, ids: list[int], fields: list[str], **extra: Any) -> list:
        if not ids:
            return []
        return _records(model, self.call(model, "read", {"ids": ids, "fields": fields, **extra}))


def odoo_error(what: str, response: requests.Response) -> OdooError:
    status = response.status_code
    name, message = _error_body(response)
    said = f"{name}: {message}" if name and message else (name or message or response.reason)
    text = f"{what} answered {status} ({said})"
    if status == 401:
        text += "; check the API key in ESL_ERP_TOKEN and ESL_ERP_DATABASE"
    elif status == 403:
        text += "; give the API key's user read access to this model"
    elif status in RETRY_STATUSES:
        text += "; still failing after retries"
    return OdooError(text, status, name, message)


def _error_body(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text.strip()[:MAX_MESSAGE]
    if not isinstance(body, dict):
        return "", ""
    name, message = body.get("name"), body.get("message")
    return (
        name[:MAX_MESSAGE] if isinstance(name, str) else "",
        message[:MAX_MESSAGE] if isinstance(message, str) else "",
    )


def _records(model: str, rows: Any) -> list[dict]:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise FeedError(f"Odoo {model}: expected a list of records")
    return rows
