"""Prices: recompute request costs from tokens, find what Helicone could not price, swap models.

The prices come from ``pricebook`` (the user's table, else genai-prices, offline).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import UsageError
from .._present.checks import float_values, ratio
from .keys import groups, int64_array, require_requests
from .pricebook import (
    SOURCE_DB,
    SOURCE_NONE,
    SOURCE_USER,
    check_prices,
    lookup,
    median_time,
    price_rows,
    token_usage,
)

if TYPE_CHECKING:
    import pandas as pd


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
    usage = token_usage(subset)
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
            when = median_time(times[g.codes == i] if times is not None else None)
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
