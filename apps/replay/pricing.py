"""What chat models cost (SPEC §4.8): the `CHAT_PRICES` setting and the cost of one model call.

Pure Python, importable without Django: the settings module parses `CHAT_PRICES` with it at startup.
A model that is not listed is *unpriced* — its cost is unknown (None), never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_PER = Decimal(1000)  # prices are per 1,000 tokens
COST_PLACES = Decimal("0.00000001")  # what ReplayRun.cost_usd stores


@dataclass(frozen=True)
class ChatPrice:
    """USD per 1,000 prompt tokens and per 1,000 completion tokens."""

    prompt_per_1k: Decimal
    completion_per_1k: Decimal


def parse_chat_prices(raw: str) -> dict[str, ChatPrice]:
    """`"gpt-4o-mini=0.00015/0.0006;llama3.1:8b=0/0"` → {model: ChatPrice}. Empty → {}.

    Raises ValueError naming the bad entry: a missing `=` or `/`, an empty model name, a price that
    is not a finite non-negative number, or a model listed twice."""
    prices: dict[str, ChatPrice] = {}
    for entry in (part.strip() for part in raw.split(";")):
        if not entry:
            continue  # a trailing ";" is harmless
        model, sep, pair = entry.rpartition("=")
        model = model.strip()
        if not sep or not model:
            raise ValueError(f"{entry!r} is not MODEL=PROMPT/COMPLETION")
        prompt, slash, completion = pair.partition("/")
        if not slash:
            raise ValueError(f"{entry!r}: the price must be PROMPT/COMPLETION (USD per 1,000 tokens)")
        if model in prices:
            raise ValueError(f"model {model!r} is listed twice")
        prices[model] = ChatPrice(_price(prompt, entry), _price(completion, entry))
    return prices


def _price(text: str, entry: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{entry!r}: {text.strip()!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{entry!r}: a price must be a finite number >= 0, got {text.strip()!r}")
    return value


def price_for(prices: dict[str, ChatPrice], *models: str | None) -> ChatPrice | None:
    """The price of the first of `models` that is listed (e.g. the model that answered, then the
    model that was asked for: OpenAI answers "gpt-4o-mini-2024-07-18" to "gpt-4o-mini")."""
    for model in models:
        if model and model in prices:
            return prices[model]
    return None


def call_cost(price: ChatPrice | None, prompt_tokens: int, completion_tokens: int) -> Decimal | None:
    """USD for one call; None when the model is unpriced (unknown, not free)."""
    if price is None:
        return None
    cost = (price.prompt_per_1k * prompt_tokens + price.completion_per_1k * completion_tokens) / _PER
    return cost.quantize(COST_PLACES)


def format_cost(cost_usd: Decimal | float | None, unpriced_runs: int) -> str:
    """"$0.001234", "unpriced" (unknown, not free) or "≥ $0.001234 (2 runs unpriced)"."""
    if cost_usd is None:
        return "unpriced"
    amount = f"${float(cost_usd):.6f}"
    return f"≥ {amount} ({unpriced_runs} run{'s' if unpriced_runs != 1 else ''} unpriced)" if unpriced_runs else amount
