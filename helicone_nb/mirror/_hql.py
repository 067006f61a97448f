"""Helicone's HQL table ``request_response_rmt`` as a view over the mirror's columns.

Column names and types follow REQUEST_API.md section 5.1 (Helicone's ClickHouse table), so an
HQL query a user already has (``SELECT model, sum(cost) / 1e9 FROM request_response_rmt ...``)
runs on the mirror unchanged, without HQL's 100-row cap. ``cost`` is nano-USD as in Helicone.
Columns the mirror does not hold take the table's default (bodies are ``''``: not copied).
"""

from __future__ import annotations

from ._files import quote

_ZERO_UUID = "'00000000-0000-0000-0000-000000000000'"

#: HQL column -> (mirror column it reads, SQL when the mirror has no such column).
HQL_COLUMNS: dict[str, tuple[str | None, str]] = {
    "response_id": ("response_id", "NULL::VARCHAR"),
    "response_created_at": ("response_created_at", "NULL::TIMESTAMP"),
    "latency": ("latency", "NULL::BIGINT"),
    "time_to_first_token": ("time_to_first_token", "NULL::BIGINT"),
    "status": ("status", "0::BIGINT"),
    "completion_tokens": ("completion_tokens", "NULL::BIGINT"),
    "prompt_tokens": ("prompt_tokens", "NULL::BIGINT"),
    "model": ("model", "''"),
    "user_id": ("user_id", "''"),
    "provider": ("provider", "''"),
    "request_id": ("request_id", "NULL::VARCHAR"),
    "request_created_at": ("request_created_at", "NULL::TIMESTAMP"),
    "organization_id": ("organization_id", "NULL::VARCHAR"),
    "proxy_key_id": (None, "NULL::VARCHAR"),
    "threat": ("threat", "NULL::BOOLEAN"),
    "target_url": ("target_url", "NULL::VARCHAR"),
    "country_code": ("country_code", "NULL::VARCHAR"),
    "properties": ("properties", "MAP {}::MAP(VARCHAR, VARCHAR)"),
    "scores": ("scores", "MAP {}::MAP(VARCHAR, BIGINT)"),
    "request_body": (None, "''"),
    "response_body": (None, "''"),
    "assets": ("assets", "[]::VARCHAR[]"),
    "updated_at": ("updated_at", "NULL::TIMESTAMP"),
    "prompt_cache_write_tokens": ("prompt_cache_write_tokens", "0::BIGINT"),
    "prompt_cache_read_tokens": ("prompt_cache_read_tokens", "0::BIGINT"),
    "prompt_audio_tokens": ("prompt_audio_tokens", "0::BIGINT"),
    "completion_audio_tokens": ("completion_audio_tokens", "0::BIGINT"),
    "cache_reference_id": ("cache_reference_id", _ZERO_UUID),
    "cache_enabled": ("cache_enabled", "false"),
    "cost": ("cost", "NULL::BIGINT"),
    "prompt_id": ("prompt_id", "''"),
    "prompt_version": ("prompt_version", "''"),
    "gateway_router_id": ("gateway_router_id", "''"),
    "gateway_deployment_target": ("gateway_deployment_target", "''"),
    "request_referrer": ("request_referrer", "''"),
    "is_passthrough_billing": ("is_passthrough_billing", "false"),
    "ai_gateway_body_mapping": ("ai_gateway_body_mapping", "''"),
    "storage_location": ("storage_location", "'s3'"),
    "reasoning_tokens": ("reasoning_tokens", "0::BIGINT"),
    "size_bytes": ("size_bytes", "NULL::BIGINT"),
    "gateway_endpoint_version": ("gateway_endpoint_version", "''"),
}

#: Columns Helicone declares with a default (not nullable): a NULL in the mirror reads as it.
_NOT_NULL = {
    "prompt_cache_write_tokens",
    "prompt_cache_read_tokens",
    "cache_reference_id",
    "request_referrer",
    "reasoning_tokens",
}


def hql_select(mirror_columns: dict[str, str], source: str) -> str:
    """``SELECT ... FROM source`` with the HQL column names, for ``CREATE VIEW``."""
    parts = []
    for name, (column, fallback) in HQL_COLUMNS.items():
        if column is not None and column in mirror_columns:
            expr = quote(column)
            if name in _NOT_NULL:
                expr = f"coalesce({expr}, {fallback})"
        else:
            expr = fallback
        parts.append(f"{expr} AS {quote(name)}")
    return f"SELECT {', '.join(parts)} FROM {source}"
