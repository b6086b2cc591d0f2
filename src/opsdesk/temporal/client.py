"""The Temporal connection, configured the way the Temporal CLI is.

An address from Temporal's environment configuration (``TEMPORAL_ADDRESS`` or a profile
in the env-config TOML file, with namespace, TLS and API key) wins; otherwise we talk to
the embedded dev server on ``OPSDESK_TEMPORAL_PORT``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes
from opsdesk.temporal.codec import EncryptionCodec, payload_keys


def configured_profile() -> ClientConfigProfile:
    """Temporal's env-config profile (``TEMPORAL_PROFILE``, else ``default``), env applied."""
    return ClientConfigProfile.load()


def uses_external_temporal() -> bool:
    """True when the environment points at a Temporal server we must not start ourselves."""
    return configured_profile().address is not None


def connect_kwargs(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = dict(configured_profile().to_client_connect_config())
    config.setdefault("target_host", f"{settings.host}:{settings.temporal_port}")
    config.setdefault("namespace", "default")
    return config


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic data converter every payload in Ops Desk relies on, with every payload
    encrypted on its way to the server (``opsdesk.temporal.codec``)."""
    codec = EncryptionCodec(payload_keys(settings))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


def metrics_runtime(address: str) -> Runtime:
    """A Temporal runtime that serves the SDK's own metrics (task latencies, slots, sticky
    cache, activity failures) for Prometheus at ``http://<address>/metrics``."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=address, counters_total_suffix=True, durations_as_seconds=True
            )
        )
    )


async def connect(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """A client with the settings' server, payload encryption and tracing (the workers
    built on it trace too: see ``opsdesk.tracing``); ``runtime`` carries a process's
    telemetry (the worker's metrics endpoint)."""
    return await Client.connect(
        **connect_kwargs(settings),
        data_converter=data_converter(settings),
        interceptors=[TracingInterceptor()],
        lazy=lazy,
        runtime=runtime,
    )


async def register_search_attributes(client: Client) -> list[str]:
    """Add the search attributes that are missing on a self-hosted cluster.

    The dev server gets them from its command line; this is for clusters whose operator
    API we may call, and for the time-skipping test server. Returns the names added.
    """
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as exc:
        # The time-skipping test server can add search attributes but not list them.
        if exc.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in search_attributes.ALL_KEYS
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
