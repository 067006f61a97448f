"""Price lookups: a user's price table, the genai-prices database, and per-request list prices.

Prices come offline from the ``genai-prices`` package (pydantic's maintained price database; it
ships its data and nothing here fetches prices from the network) or from a table the user
passes, ``{"model": {"input": usd_per_mtok, "output": usd_per_mtok}}`` (optionally
``"cache_read"`` and ``"cache_write"``), which overrides the database for those models.

Token accounting (Helicone's request row, see REQUEST_API.md section 2): ``prompt_tokens``
excludes the cache tokens, which are ``prompt_cache_read_tokens`` and
``prompt_cache_write_tokens``; genai-prices' ``input_tokens`` includes them. So a request costs
``prompt * input + cache_read * cache_read_price + cache_write * cache_write_price +
completion * output`` (a missing cache price falls back to the input price), per million
tokens. ``completion_tokens`` already holds the reasoning tokens of OpenAI's reasoning models.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import float_values
from .keys import Groups, groups

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Keys of a user's price table, USD per 1M tokens.
PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
#: Where a price came from.
SOURCE_USER = "your prices"
SOURCE_DB = "genai-prices"
SOURCE_NONE = "unknown"

# Helicone provider names -> genai-prices provider ids (others are tried lower-cased).
_PROVIDERS = {
    "OPENAI": "openai",
    "AZURE": "azure",
    "ANTHROPIC": "anthropic",
    "GOOGLE": "google",
    "VERTEXAI": "google",
    "BEDROCK": "aws",
    "AWS": "aws",
    "GROQ": "groq",
    "MISTRAL": "mistral",
    "DEEPSEEK": "deepseek",
    "OPENROUTER": "openrouter",
    "TOGETHER": "together",
    "TOGETHERAI": "together",
    "FIREWORKS": "fireworks",
    "X": "x-ai",
    "XAI": "x-ai",
    "COHERE": "cohere",
    "PERPLEXITY": "perplexity",
}


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens; ``tiers`` ((threshold, prices), ...) apply when a request's input
    tokens exceed the threshold (the whole request then pays that tier)."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    source: str
    priced_as: str
    tiers: tuple[tuple[int, tuple[float, float, float, float]], ...] = ()
    #: A user's table gave cache prices (else they come from the database, or the input price).
    explicit_cache: bool = True


def check_prices(prices: Any, fn: str) -> dict[str, Price]:
    """A user's price table, checked: model -> Price. Errors say what to change."""
    if prices is None:
        return {}
    example = '{"my-model": {"input": 2.5, "output": 10.0}} (USD per 1M tokens)'
    if not isinstance(prices, Mapping):
        raise UsageError(
            f"{fn}(): prices must be a dict like {example}, got {type(prices).__name__}"
        )
    out: dict[str, Price] = {}
    for model, entry in prices.items():
        if not isinstance(model, str) or not model:
            raise UsageError(f"{fn}(): price table keys must be model names, got {model!r}")
        if not isinstance(entry, Mapping):
            raise UsageError(
                f"{fn}(): prices[{model!r}] must be a dict like {{'input': 2.5, 'output': 10.0}}"
                f" (USD per 1M tokens), got {entry!r}"
            )
        unknown = set(entry) - set(PRICE_KEYS)
        if unknown:
            raise UsageError(
                f"{fn}(): prices[{model!r}] has unknown key(s) {sorted(unknown)}; use "
                f"{', '.join(PRICE_KEYS)} (USD per 1M tokens)"
            )
        missing = [k for k in ("input", "output") if k not in entry]
        if missing:
            raise UsageError(f"{fn}(): prices[{model!r}] needs {' and '.join(missing)}")
        values: dict[str, float] = {}
        for key in PRICE_KEYS:
            if key not in entry:
                continue
            value = entry[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(f"{fn}(): prices[{model!r}][{key!r}] must be a number")
            v = float(value)
            if not math.isfinite(v) or v < 0:
                raise UsageError(
                    f"{fn}(): prices[{model!r}][{key!r}] is {value!r}; prices must be finite "
                    "and not negative (USD per 1M tokens)"
                )
            if 0 < v < 0.001:
                raise UsageError(
                    f"{fn}(): prices[{model!r}][{key!r}] = {value!r} looks like USD per token "
                    f"or per 1k tokens; prices are USD per 1M tokens: write {v * 1e6:g} if it "
                    f"is USD per token, {v * 1e3:g} if it is USD per 1k tokens"
                )
            if v > 10_000:
                raise UsageError(
                    f"{fn}(): prices[{model!r}][{key!r}] = {value!r} USD per 1M tokens is "
                    "implausible; prices are USD per 1M tokens (gpt-4o input is 2.5)"
                )
            values[key] = v
        out[model] = Price(
            input=values["input"],
            output=values["output"],
            cache_read=values.get("cache_read", values["input"]),
            cache_write=values.get("cache_write", values["input"]),
            source=SOURCE_USER,
            priced_as=model,
            explicit_cache="cache_read" in values or "cache_write" in values,
        )
    return out


def lookup(
    model: str, provider: str | None, table: dict[str, Price], when: _dt.datetime
) -> Price | None:
    """The price of ``model``: the user's table first, then the database. A user price
    without cache prices takes the database's cache prices for the model (cached tokens cost a
    fraction of input tokens), else its own input price."""
    from dataclasses import replace

    price = table.get(model) or table.get(model.lower())
    if price is None:
        return database_price(model, provider, when)
    if not price.explicit_cache:
        known = database_price(model, provider, when)
        if known is not None:
            price = replace(price, cache_read=known.cache_read, cache_write=known.cache_write)
    return price


def _decimal_price(value: Any) -> tuple[float, tuple[tuple[int, float], ...]]:
    """(base USD per 1M tokens, ((threshold, price), ...)) of a genai-prices value."""
    if value is None:
        return float("nan"), ()
    tiers = getattr(value, "tiers", None)
    if tiers is not None:
        return float(value.base), tuple((int(t.start), float(t.price)) for t in tiers)
    return float(value), ()


def database_price(model: str, provider: str | None, when: _dt.datetime) -> Price | None:
    """The genai-prices price of ``model`` (at ``provider`` when known), None if unknown."""
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    ids: list[str | None] = []
    if provider:
        ids.append(_PROVIDERS.get(provider.upper(), provider.lower()))
    ids.append(None)
    for provider_id in ids:
        try:
            _, info = snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            continue
        prices = info.get_prices(when)
        base: dict[str, tuple[float, tuple[tuple[int, float], ...]]] = {
            key: _decimal_price(getattr(prices, f"{key}_mtok", None)) for key in PRICE_KEYS
        }
        inp, out = base["input"][0], base["output"][0]
        if math.isnan(inp) and math.isnan(out):
            continue  # a model the database lists without token prices
        inp = 0.0 if math.isnan(inp) else inp
        out = 0.0 if math.isnan(out) else out
        read = inp if math.isnan(base["cache_read"][0]) else base["cache_read"][0]
        write = inp if math.isnan(base["cache_write"][0]) else base["cache_write"][0]
        thresholds = sorted({t for _, tiers in base.values() for t, _ in tiers})
        tiers = []
        for threshold in thresholds:

            def at(
                key: str, fallback: float, threshold: int = threshold, base: Any = base
            ) -> float:
                value, steps = base[key]
                price = fallback if math.isnan(value) else value
                for start, p in steps:
                    if start <= threshold:
                        price = p
                return price

            tiers.append(
                (
                    threshold,
                    (
                        at("input", 0.0),
                        at("output", 0.0),
                        at("cache_read", read),
                        at("cache_write", write),
                    ),
                )
            )
        return Price(inp, out, read, write, SOURCE_DB, str(info.id), tuple(tiers))
    return None


def token_usage(df: pd.DataFrame) -> dict[str, np.ndarray[Any, Any]]:
    """Token counts per request as float64 (missing -> 0)."""
    import numpy as np

    def col(name: str) -> np.ndarray[Any, Any]:
        if name not in df.columns:
            return np.zeros(len(df))
        values: np.ndarray[Any, Any] = np.nan_to_num(float_values(df[name]))
        return values

    return {
        "prompt": col("prompt_tokens"),
        "completion": col("completion_tokens"),
        "cache_read": col("prompt_cache_read_tokens"),
        "cache_write": col("prompt_cache_write_tokens"),
    }


def median_time(times: pd.Series[Any] | None) -> _dt.datetime:
    import pandas as pd

    if times is None or times.isna().all():
        return _dt.datetime.now(_dt.UTC)
    ns = float(pd.Series(times.dropna().dt.as_unit("ns").array.asi8).median())
    return _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.UTC)


@dataclass
class Priced:
    """Per-request list prices: cost, the price source and the model priced as."""

    cost: np.ndarray[Any, Any]
    source: np.ndarray[Any, Any]
    priced_as: np.ndarray[Any, Any]
    known: np.ndarray[Any, Any]
    #: The (provider, model) groups the prices were looked up for, and the token counts.
    groups: Groups
    usage: dict[str, np.ndarray[Any, Any]]


def price_rows(
    df: pd.DataFrame, table: dict[str, Price], fn: str, model_column: str = "model"
) -> Priced:
    """The list price of every request (NaN where no price is known)."""
    import numpy as np

    by = [c for c in ("provider", model_column) if c in df.columns]
    g = groups(df, by, fn)
    usage = token_usage(df)
    total_input = usage["prompt"] + usage["cache_read"] + usage["cache_write"]
    cost = np.full(len(df), np.nan)
    source = np.full(g.n, SOURCE_NONE, dtype=object)
    priced_as = np.full(g.n, None, dtype=object)
    times = df["created_at"] if "created_at" in df.columns else None
    order = np.argsort(g.codes, kind="stable")
    bounds = np.searchsorted(g.codes[order], np.arange(g.n + 1))
    for i in range(g.n):
        rows = order[bounds[i] : bounds[i + 1]]
        key = g.keys.iloc[i]
        model = key[model_column]
        provider = key["provider"] if "provider" in by else None
        if not isinstance(model, str) or not model:
            continue
        when = median_time(times.iloc[rows] if times is not None else None)
        price = lookup(model, provider if isinstance(provider, str) else None, table, when)
        if price is None:
            continue
        source[i] = price.source
        priced_as[i] = price.priced_as
        rates = np.tile(
            np.array([price.input, price.output, price.cache_read, price.cache_write]),
            (len(rows), 1),
        )
        for threshold, tier in price.tiers:
            rates[total_input[rows] > threshold] = tier
        cost[rows] = (
            usage["prompt"][rows] * rates[:, 0]
            + usage["completion"][rows] * rates[:, 1]
            + usage["cache_read"][rows] * rates[:, 2]
            + usage["cache_write"][rows] * rates[:, 3]
        ) / 1e6
    known = source != SOURCE_NONE
    return Priced(cost, source[g.codes], priced_as[g.codes], known[g.codes], g, usage)
