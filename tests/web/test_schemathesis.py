"""Schemathesis against the served OpenAPI document: a real waitress server on a free port,
a manager's token, a fixed seed and a few hundred generated requests in all.

The document must state what the server accepts (formats, bounds, patterns, statuses), so
a generated request that the server answers with 5xx, or with a status the document does
not list, is a failure. On the routes whose rules were found missing from the document
(report periods, the anchor pair, the revenue range, CPM, playlist names) schemathesis's
own checks also run: the response must match its documented schema and content type, and
a request that breaks the document must be refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as fixed_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.failures import FailureGroup
from sqlalchemy.engine import Engine
from waitress.server import create_server

from esl_controller.config import Settings
from esl_controller.web import create_app
from tests.web.ads_seed import Ads, ads_fixture  # noqa: F401 (fixture)
from tests.web.conftest import Seed, bearer

SEED = 20261201
EXAMPLES_PER_OPERATION = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
# Checked for conformance too, with more examples each (still a bounded run).
CONFORMANCE_OPERATIONS = {
    "GET /api/v1/reports",
    "GET /api/v1/reports/campaigns",
    "GET /api/v1/impressions/verify",
    "GET /api/v1/impressions/public-key",
    "GET /api/v1/campaigns/{campaign_id}/impression-records",
    "GET /api/v1/revenue",
    "GET /api/v1/report-deliveries",
    "GET /api/v1/campaigns",
    "POST /api/v1/campaigns",
    "GET /api/v1/playlists/{name}",
}
CONFORMANCE_EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}
CONFORMANCE_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture
def fuzzed_app(settings: Settings, engine: Engine, seed: Seed, tmp_path: Path) -> Flask:
    # PUT /playlists writes files: into a scratch directory, never the repository's.
    playlists = tmp_path / "playlists"
    playlists.mkdir()
    return create_app(settings.with_overrides(playlists_dir=playlists), engine)


@pytest.fixture
def served(fuzzed_app: Flask) -> Iterator[str]:
    server = create_server(fuzzed_app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=10)


def fuzz(
    operation,
    mode: GenerationMode,
    examples: int,
    base_url: str,
    headers: dict,
    *,
    conformance: bool = False,
) -> list:
    """(status, description) of every generated call, the description empty unless it was
    answered with 5xx or an undocumented status (or, with `conformance`, failed one of
    CONFORMANCE_CHECKS); an operation without anything to negate has no negative cases."""
    documented = {str(status) for status in operation.definition.raw.get("responses", {})}
    outcomes: list[tuple[int, str]] = []

    @fixed_seed(SEED)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        description = (
            f"{operation.label} [{mode.value}] -> {response.status_code}: "
            f"{response.text[:200]!r} for {case.path_parameters} {case.query} "
            f"{str(case.body)[:120]}"
        )
        failed = response.status_code >= 500 or str(response.status_code) not in documented
        if conformance and not failed:
            try:
                case.validate_response(response, checks=CONFORMANCE_CHECKS, headers=headers)
            except (AssertionError, FailureGroup) as failure:
                failed = True
                description += f" -- {str(failure).strip()[:300]}"
        outcomes.append((response.status_code, description if failed else ""))

    try:
        call()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.label
    return outcomes


def test_generated_requests_get_no_server_error_and_only_documented_statuses(
    served: str,
    seed: Seed,
    ads: Ads,  # campaigns with chained impressions, so report routes can answer 200
):
    headers = bearer(seed.manager_token)
    schema = schemathesis.openapi.from_url(f"{served}/api/v1/openapi.json", headers=headers)
    outcomes = []
    operations = 0
    answered: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        conformance = operation.label in CONFORMANCE_OPERATIONS
        per_mode = CONFORMANCE_EXAMPLES if conformance else EXAMPLES_PER_OPERATION
        for mode, examples in per_mode.items():
            got = fuzz(operation, mode, examples, served, headers, conformance=conformance)
            answered.setdefault(operation.label, set()).update(status for status, _ in got)
            outcomes += got
    assert operations >= 35  # the whole API was in the document
    assert set(answered) >= CONFORMANCE_OPERATIONS
    # The report bodies themselves were held to their schemas, not only the refusals.
    for label in ("GET /api/v1/reports", "GET /api/v1/impressions/verify", "GET /api/v1/revenue"):
        assert any(status < 300 for status in answered[label]), (label, answered[label])
    assert 422 in answered["GET /api/v1/playlists/{name}"]
    assert len(outcomes) >= 200
    # The fuzzing reached the views, not only the validators.
    assert any(status < 300 for status, _ in outcomes)
    problems = sorted({problem for _, problem in outcomes if problem})
    assert not problems, "\n".join(problems)
