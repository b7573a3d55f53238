"""CHAT_PRICES (SPEC §4.8): the pure parser, the cost of a call, and the fail-fast setting."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from apps.replay.pricing import ChatPrice, call_cost, parse_chat_prices, price_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_spec_example_parses_including_a_model_name_with_a_colon():
    prices = parse_chat_prices(" gpt-4o-mini=0.00015/0.0006 ; llama3.1:8b=0/0; ")
    assert prices == {
        "gpt-4o-mini": ChatPrice(Decimal("0.00015"), Decimal("0.0006")),
        "llama3.1:8b": ChatPrice(Decimal("0"), Decimal("0")),
    }
    assert parse_chat_prices("") == {}


@pytest.mark.parametrize(
    "raw, says",
    [
        ("gpt-4o-mini", "MODEL=PROMPT/COMPLETION"),
        ("=0.1/0.2", "MODEL=PROMPT/COMPLETION"),
        ("gpt-4o-mini=0.1", "PROMPT/COMPLETION"),
        ("gpt-4o-mini=abc/0.2", "'abc' is not a number"),
        ("gpt-4o-mini=-1/0.2", ">= 0"),
        ("gpt-4o-mini=NaN/0.2", ">= 0"),
        ("a=1/1;a=2/2", "listed twice"),
    ],
)
def test_a_bad_value_is_rejected_naming_the_entry(raw, says):
    with pytest.raises(ValueError) as caught:
        parse_chat_prices(raw)
    assert says in str(caught.value)


def test_cost_is_per_thousand_tokens_and_unlisted_models_are_unpriced_not_free():
    prices = parse_chat_prices("gpt-4o-mini=0.00015/0.0006;llama3.1:8b=0/0")
    assert call_cost(price_for(prices, "gpt-4o-mini"), 2000, 500) == Decimal("0.00060000")  # 0.0003 + 0.0003
    assert call_cost(price_for(prices, "llama3.1:8b"), 2000, 500) == Decimal("0")  # listed as free: free
    assert call_cost(price_for(prices, "gpt-4o"), 2000, 500) is None  # not listed: unknown
    # the answering model's dated name is not listed: the requested name's price applies
    assert price_for(prices, "gpt-4o-mini-2024-07-18", "gpt-4o-mini") == prices["gpt-4o-mini"]


@pytest.mark.parametrize("raw, ok", [("gpt-4o-mini=0.00015/0.0006;llama3.1:8b=0/0", True), ("gpt-4o-mini=free", False)])
def test_an_invalid_setting_stops_startup_with_improperly_configured(raw, ok):
    env = {**os.environ, "CHAT_PRICES": raw, "DJANGO_SETTINGS_MODULE": "lakehouse.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(sorted(settings.CHAT_PRICES))"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    if ok:
        assert done.returncode == 0, done.stderr
        assert "['gpt-4o-mini', 'llama3.1:8b']" in done.stdout
    else:
        assert done.returncode != 0
        assert "ImproperlyConfigured" in done.stderr and "CHAT_PRICES" in done.stderr and "gpt-4o-mini=free" in done.stderr
