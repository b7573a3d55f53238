"""schemathesis against Django's live test server (SPEC §5, issue 17): every operation of the OpenAPI
schema, called with an operator (staff) token and a coordinator token, with data that fits the
schema and data that does not, must never answer 5xx, and every error must come in the envelope.

Bounded and reproducible: MAX_EXAMPLES cases per operation and generation mode, derandomized
Hypothesis, no example database, no shrinking (a failure is reported with its curl command).
CHECKS is the one line to change to run schemathesis' full set once the schema tells the whole truth
(`CHECKS = None` runs every check schemathesis has).

(schemathesis' own pytest plugin reads `Function._nodeid`, which pytest 9 no longer has, so the
operations are driven here with their Hypothesis strategies.)
"""

from __future__ import annotations

import json

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

MAX_EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


def error_in_the_envelope(ctx, response, case) -> None:
    """Every 4xx/5xx answer of the API is {"error": {"code", "message", "fields"}}."""
    if response.status_code < 400:
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} is not JSON: {response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(error, dict) or set(error) != {"code", "message", "fields"}:
        raise AssertionError(f"{response.status_code} is not in the envelope: {body!r}"[:500])


CHECKS = [not_a_server_error, error_in_the_envelope]


@pytest.fixture
def api_tokens(transactional_db) -> dict[str, str]:
    from apps.core.services import issue_api_token

    return {
        "operator": issue_api_token(username="st-operator", staff=True)[1],
        "coordinator": issue_api_token(username="st-coordinator", staff=False)[1],
    }


def _exercise(operation, mode: GenerationMode, base_url: str, tokens: dict[str, str], failures: list[str]) -> int:
    calls = 0

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(mode))
    def run(case) -> None:
        nonlocal calls
        for role, token in tokens.items():
            calls += 1
            response = case.call(base_url=base_url, headers={"Authorization": f"Token {token}"}, timeout=60)
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as failure:  # collected, not raised: no shrinking, every operation still runs
                failures.append(f"{operation.label} as {role} ({mode.value}): {failure}\n  {case.as_curl_command()}"[:2000])

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Negative mode on an operation with nothing to get wrong (no parameters, no body).
        assert mode is GenerationMode.NEGATIVE, operation.label
    return calls


def test_every_operation_as_operator_and_coordinator_never_5xx_and_errors_in_the_envelope(live_server, api_tokens, capsys):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, [op.label for op in operations]
    failures: list[str] = []
    calls = 0
    for operation in operations:
        for mode in MAX_EXAMPLES:
            calls += _exercise(operation, mode, live_server.url, api_tokens, failures)
    with capsys.disabled():
        print(f"\nschemathesis: {len(operations)} operations, {calls} calls, {len(failures)} failures")
    assert not failures, "\n".join(failures[:30])
