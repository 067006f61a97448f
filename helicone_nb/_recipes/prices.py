"""Prices: recompute request costs from tokens, find what Helicone could not price, swap models.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import float_values, ratio
from .keys import Groups, groups, int64_array, require_requests

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


def _usage(df: pd.DataFrame) -> dict[str, np.ndarray[Any, Any]]:
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


def _when(times: pd.Series[Any] | None) -> _dt.datetime:
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
    usage = _usage(df)
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
        when = _when(times.iloc[rows] if times is not None else None)
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


def reprice(requests: pd.DataFrame, prices: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every request's cost recomputed from its tokens at list prices, beside the recorded cost.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``model``, ``cost`` and the token columns
        ``prompt_tokens``, ``completion_tokens``; ``prompt_cache_read_tokens``,
        ``prompt_cache_write_tokens`` and ``provider`` are used when present).
    prices : dict, optional
        Your own prices, ``{"model": {"input": usd_per_mtok, "output": usd_per_mtok}}``
        (optionally ``"cache_read"``, ``"cache_write"``; without them, the database's cache
        prices for the model, else the input price). They override the genai-prices database
        for those models.

    Returns
    -------
    pandas.DataFrame
        One row per request: ``request_id`` and ``created_at`` (when present), ``provider``,
        ``model``, the four token counts, ``recorded_cost`` (Helicone's, USD),
        ``repriced_cost`` (list price, NaN when no price is known), ``difference``
        (repriced - recorded), ``price_source`` (``"your prices"``, ``"genai-prices"``,
        ``"unknown"``) and ``priced_as`` (the database's model id).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import reprice
    >>> req = pd.DataFrame({"model": ["gpt-4o", "my-model"], "provider": ["OPENAI", "OPENAI"],
    ...                     "prompt_tokens": [1000, 1000], "completion_tokens": [100, 100],
    ...                     "cost": [0.0035, 0.0]})
    >>> out = reprice(req, prices={"my-model": {"input": 1.0, "output": 2.0}})
    >>> out[["model", "recorded_cost", "repriced_cost", "price_source"]]
          model  recorded_cost  repriced_cost  price_source
    0    gpt-4o         0.0035         0.0035  genai-prices
    1  my-model         0.0000         0.0012   your prices
    """
    import pandas as pd

    require_requests(requests, "reprice", ["model", "cost"])
    table = check_prices(prices, "reprice")
    priced = price_rows(requests, table, "reprice")
    usage = priced.usage
    recorded = float_values(requests["cost"])
    data: dict[str, Any] = {}
    for column in ("request_id", "created_at", "provider", "model"):
        if column in requests.columns:
            data[column] = (
                requests[column].to_numpy() if column != "created_at" else (requests[column].array)
            )
    for name, values in (
        ("prompt_tokens", usage["prompt"]),
        ("completion_tokens", usage["completion"]),
        ("cache_read_tokens", usage["cache_read"]),
        ("cache_write_tokens", usage["cache_write"]),
    ):
        data[name] = int64_array(values)
    data["recorded_cost"] = recorded
    data["repriced_cost"] = priced.cost
    data["difference"] = priced.cost - recorded
    data["price_source"] = pd.Categorical(
        priced.source, categories=[SOURCE_USER, SOURCE_DB, SOURCE_NONE]
    )
    data["priced_as"] = pd.array(priced.priced_as, dtype="string")
    out = pd.DataFrame(data, index=pd.RangeIndex(len(requests)))
    for column in ("provider", "model", "request_id"):
        if column in out.columns and out[column].dtype == object:
            out[column] = out[column].astype("string")
    return out


def cost_gaps(requests: pd.DataFrame, prices: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Where recorded cost is missing: requests with tokens but a zero or missing cost, and
    models the price list does not know, with their share of tokens and of estimated cost.

    Helicone records $0 for models it cannot price; this finds them, per provider and model,
    and estimates what they cost at list prices (``reprice``).

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``model``, ``cost`` and token columns).
    prices : dict, optional
        Your own prices (see ``reprice``), e.g. for in-house or fine-tuned models.

    Returns
    -------
    pandas.DataFrame
        One row per (provider, model) with a gap: ``provider``, ``model``, ``requests``,
        ``unpriced_requests`` (tokens > 0, cost 0 or missing; Int64), ``tokens``,
        ``unpriced_tokens`` (Int64), ``recorded_cost``, ``estimated_missing_cost`` (the list
        price of the unpriced requests, NaN when unknown), ``price_known`` (bool),
        ``token_share`` (unpriced tokens / all tokens of the frame) and
        ``missing_cost_share`` (estimated missing cost / (recorded + estimated missing cost)
        of the whole frame); the largest estimated gap first. Models the price list does not
        know appear even when Helicone priced them (they cannot be checked).

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import cost_gaps
    >>> req = pd.DataFrame({"model": ["gpt-4o", "gpt-4o", "ft:custom"], "provider": "OPENAI",
    ...                     "prompt_tokens": [1000, 1000, 500], "completion_tokens": [100] * 3,
    ...                     "cost": [0.0035, 0.0, 0.0]})
    >>> gaps = cost_gaps(req)
    >>> gaps[["model", "unpriced_tokens", "estimated_missing_cost", "price_known"]]
           model  unpriced_tokens  estimated_missing_cost  price_known
    0     gpt-4o             1100                  0.0035         True
    1  ft:custom              600                     NaN        False
    """
    import numpy as np

    require_requests(requests, "cost_gaps", ["model", "cost"])
    table = check_prices(prices, "cost_gaps")
    priced = price_rows(requests, table, "cost_gaps")
    usage = priced.usage
    tokens = usage["prompt"] + usage["completion"] + usage["cache_read"] + usage["cache_write"]
    recorded = float_values(requests["cost"])
    unpriced = (tokens > 0) & ~(np.nan_to_num(recorded) > 0)
    g = priced.groups
    missing = np.where(unpriced, priced.cost, 0.0)
    missing_known = g.count(unpriced & np.isnan(priced.cost)) == 0
    estimated = np.where(missing_known, g.sum(missing), np.nan)
    known = g.count(priced.known) > 0
    total_tokens = float(tokens.sum())
    total = float(np.nansum(recorded)) + float(np.nansum(missing))
    out = g.frame(
        {
            "requests": int64_array(g.count()),
            "unpriced_requests": int64_array(g.count(unpriced)),
            "tokens": int64_array(g.sum(tokens)),
            "unpriced_tokens": int64_array(g.sum(np.where(unpriced, tokens, 0.0))),
            "recorded_cost": g.sum(recorded),
            "estimated_missing_cost": estimated,
            "price_known": known,
        }
    )
    out["token_share"] = (
        out["unpriced_tokens"].astype("float64") / total_tokens if (total_tokens > 0) else np.nan
    )
    out["missing_cost_share"] = ratio(
        out["estimated_missing_cost"].fillna(0.0), np.full(len(out), total)
    )
    gap = (out["unpriced_requests"] > 0).to_numpy() | ~out["price_known"].to_numpy()
    out = out.loc[gap]
    out = out.sort_values(
        ["estimated_missing_cost", "unpriced_tokens"],
        ascending=False,
        na_position="last",
        kind="mergesort",
    )
    result: pd.DataFrame = out.reset_index(drop=True)
    return result


def what_if(
    requests: pd.DataFrame,
    swap: Mapping[str, str],
    *,
    prices: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The cost had some requests used another model: same tokens, the other model's prices.

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``model``, ``cost`` and token columns).
    swap : dict
        ``{"from-model": "to-model", ...}``, e.g. ``{"gpt-4o": "gpt-4o-mini"}``.
    prices : dict, optional
        Your own prices (see ``reprice``); they apply to both sides of a swap.

    Returns
    -------
    pandas.DataFrame
        One row per swapped model: ``model``, ``swap_to``, ``requests``, ``tokens`` (Int64),
        ``recorded_cost`` (what Helicone recorded), ``list_cost`` (the same requests at the
        current model's list price), ``what_if_cost`` (at the other model's price),
        ``difference`` (what_if - list) and ``change`` (difference / list_cost); plus a
        ``"(total)"`` row.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import what_if
    >>> req = pd.DataFrame({"model": ["gpt-4o", "gpt-4o", "gpt-4o-mini"], "provider": "OPENAI",
    ...                     "prompt_tokens": [10_000] * 3, "completion_tokens": [1_000] * 3,
    ...                     "cost": [0.035, 0.035, 0.0021]})
    >>> out = what_if(req, swap={"gpt-4o": "gpt-4o-mini"})
    >>> out[["model", "swap_to", "requests", "list_cost", "what_if_cost", "change"]]
         model      swap_to  requests  list_cost  what_if_cost  change
    0   gpt-4o  gpt-4o-mini         2       0.07        0.0042   -0.94
    1  (total)                      2       0.07        0.0042   -0.94
    """
    import numpy as np
    import pandas as pd

    require_requests(requests, "what_if", ["model", "cost"])
    if (
        not isinstance(swap, Mapping)
        or not swap
        or not all(isinstance(a, str) and isinstance(b, str) and a and b for a, b in swap.items())
    ):
        raise UsageError(
            "what_if(): swap must be a non-empty dict of model names, e.g. "
            "{'gpt-4o': 'gpt-4o-mini'}"
        )
    table = check_prices(prices, "what_if")
    models = requests["model"].astype("string")
    present = set(models.dropna().unique())
    absent = [m for m in swap if m not in present]
    if absent:
        raise UsageError(
            f"what_if(): the frame has no requests of {absent}; its models are {sorted(present)}"
        )
    mask = models.isin(list(swap)).fillna(False).to_numpy(dtype=bool)
    subset = requests.loc[mask]
    current = price_rows(subset, table, "what_if")
    swapped = subset.assign(model=subset["model"].astype("string").map(dict(swap)))
    target = price_rows(swapped, table, "what_if")
    unknown = sorted(set(swapped["model"][~target.known].dropna()))
    if unknown:
        raise UsageError(
            f"what_if(): no price for {unknown} (not in genai-prices); pass "
            "prices={'<model>': {'input': usd_per_mtok, 'output': usd_per_mtok}}"
        )
    usage = _usage(subset)
    tokens = usage["prompt"] + usage["completion"] + usage["cache_read"] + usage["cache_write"]
    g = groups(subset, "model", "what_if")
    list_cost = g.sum(current.cost)
    list_cost = np.where(g.count(np.isnan(current.cost)) > 0, np.nan, list_cost)
    what = g.sum(target.cost)
    out = g.frame(
        {
            "swap_to": pd.array([swap[m] for m in g.keys["model"]], dtype="string"),
            "requests": int64_array(g.count()),
            "tokens": int64_array(g.sum(tokens)),
            "recorded_cost": g.sum(float_values(subset["cost"])),
            "list_cost": list_cost,
            "what_if_cost": what,
        }
    )
    out["model"] = out["model"].astype("string")
    total = {
        "model": "(total)",
        "swap_to": "",
        "requests": int(out["requests"].sum()),
        "tokens": int(out["tokens"].sum()),
        "recorded_cost": float(out["recorded_cost"].sum()),
        "list_cost": float(out["list_cost"].sum(min_count=1))
        if out["list_cost"].notna().all()
        else float("nan"),
        "what_if_cost": float(out["what_if_cost"].sum()),
    }
    out = pd.concat([out, pd.DataFrame([total]).astype(out.dtypes.to_dict())], ignore_index=True)
    out["difference"] = out["what_if_cost"] - out["list_cost"]
    out["change"] = ratio(out["difference"], out["list_cost"])
    return out


def price_list(requests: pd.DataFrame, prices: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The prices ``reprice`` uses for the models of a requests frame (USD per 1M tokens).

    Parameters
    ----------
    requests : pandas.DataFrame
        A requests frame (needs ``model``; ``provider`` and ``created_at`` are used when
        present: prices are looked up for the provider, at the median request time).
    prices : dict, optional
        Your own prices (see ``reprice``).

    Returns
    -------
    pandas.DataFrame
        ``provider``, ``model``, ``requests``, ``input``, ``output``, ``cache_read``,
        ``cache_write`` (NaN when unknown), ``tiered`` (bool: prices change above a
        number of input tokens), ``price_source`` and ``priced_as``; most requests first.

    Examples
    --------
    >>> import pandas as pd
    >>> from helicone_nb.recipes import price_list
    >>> req = pd.DataFrame({"model": ["gpt-4o-mini"], "provider": ["OPENAI"], "cost": [0.0]})
    >>> price_list(req)[["model", "input", "output", "cache_read", "price_source"]]
             model  input  output  cache_read  price_source
    0  gpt-4o-mini   0.15     0.6       0.075  genai-prices
    """
    import numpy as np
    import pandas as pd

    require_requests(requests, "price_list", ["model"])
    table = check_prices(prices, "price_list")
    by = [c for c in ("provider", "model") if c in requests.columns]
    g = groups(requests, by, "price_list")
    times = requests["created_at"] if "created_at" in requests.columns else None
    rows = []
    for i in range(g.n):
        key = g.keys.iloc[i]
        model = key["model"]
        provider = key["provider"] if "provider" in by else None
        price = None
        if isinstance(model, str) and model:
            when = _when(times[g.codes == i] if times is not None else None)
            price = lookup(model, provider if isinstance(provider, str) else None, table, when)
        nan = float("nan")
        rows.append(
            {
                "input": price.input if price else nan,
                "output": price.output if price else nan,
                "cache_read": price.cache_read if price else nan,
                "cache_write": price.cache_write if price else nan,
                "tiered": bool(price and price.tiers),
                "price_source": price.source if price else SOURCE_NONE,
                "priced_as": price.priced_as if price else None,
            }
        )
    extra = pd.DataFrame(rows, index=pd.RangeIndex(g.n))
    out = g.frame({"requests": int64_array(g.count())})
    for column in extra.columns:
        out[column] = extra[column].to_numpy()
    out["priced_as"] = out["priced_as"].astype("string")
    out["price_source"] = out["price_source"].astype("string")
    order = np.argsort(-out["requests"].to_numpy(dtype="int64"), kind="stable")
    result: pd.DataFrame = out.iloc[order].reset_index(drop=True)
    return result


def reprice_summary(repriced: pd.DataFrame, by: str | Sequence[str] = "model") -> pd.DataFrame:
    """``reprice`` rows summed per group: recorded vs list cost where both are known."""
    import numpy as np

    g = groups(repriced, by, "reprice_summary")
    both = ~np.isnan(repriced["repriced_cost"].to_numpy()) & (
        repriced["recorded_cost"].to_numpy() > 0
    )
    recorded = np.where(both, repriced["recorded_cost"].to_numpy(), 0.0)
    listed = np.where(both, repriced["repriced_cost"].to_numpy(), 0.0)
    out = g.frame(
        {
            "requests": int64_array(g.count()),
            "checked": int64_array(g.count(both)),
            "recorded_cost": g.sum(recorded),
            "repriced_cost": g.sum(listed),
        }
    )
    out["difference"] = out["repriced_cost"] - out["recorded_cost"]
    out["relative_difference"] = ratio(out["difference"], out["recorded_cost"])
    return out
