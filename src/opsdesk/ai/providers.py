"""Model providers behind one interface: ask for one structured answer, get its raw fields
and what it cost.

Both use their official SDK with the SDK's own retries off (``max_retries=0``): Temporal
retries the activity instead, so a retry is visible, bounded and durable. Failures leave
here already sorted for Temporal:

- the request itself is wrong (400, 401, 403, 404, 422) → ``AiRequestRejected``,
  non-retryable;
- the provider is busy or away (429, 529, 5xx, timeouts, connection errors) → a retryable
  ``ApplicationError`` whose next retry waits for the ``retry-after`` the provider asked for.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from temporalio.exceptions import ApplicationError

from opsdesk.ai.models import AiUsage
from opsdesk.errors import AiRequestRejected

if TYPE_CHECKING:
    # Each SDK is an extra (opsdesk[anthropic], opsdesk[openai]): imported where it is used.
    import anthropic
    import openai

_SDKS = ("anthropic", "openai")


def _sdk_errors(name: str) -> tuple[type[Exception], ...]:
    """The SDKs' exception class ``name``, of the SDKs this process has imported: one it
    never imported cannot have raised."""
    return tuple(getattr(sys.modules[sdk], name) for sdk in _SDKS if sdk in sys.modules)


# Statuses that mean "this request, as sent, will never succeed".
_REJECTED = {400, 401, 403, 404, 413, 422}
MAX_RETRY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Picture:
    """A photo shown to the model with the question."""

    media_type: str
    """``image/jpeg`` or ``image/png``: what both providers read."""
    data: bytes

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


@dataclass(frozen=True)
class StructuredCall:
    """One question whose answer must fill a tool's arguments."""

    task: str
    system: str
    user: str
    tool_name: str
    tool_description: str
    schema: dict[str, Any]
    model: str
    max_tokens: int = 1024
    pictures: tuple[Picture, ...] = ()
    """Photos the model looks at with ``user`` (only for a model that reads images)."""


@dataclass
class StructuredReply:
    data: dict[str, Any] | None
    """The tool's arguments; None when the model did not fill them in."""
    usage: AiUsage
    problem: str = ""
    """Why ``data`` is missing."""


class Provider(Protocol):
    name: str
    fast_model: str
    """For classification: scoring risk, triage."""
    strong_model: str
    """For writing to customers."""

    async def call(self, request: StructuredCall) -> StructuredReply: ...


def retry_after(headers: Mapping[str, str] | None) -> timedelta | None:
    """The wait a provider asked for (``retry-after-ms``, or ``retry-after`` in seconds or
    as an HTTP date), capped so a bad header cannot park an order for a day."""
    if headers is None:
        return None
    wait: timedelta | None = None
    if ms := headers.get("retry-after-ms"):
        try:
            wait = timedelta(milliseconds=float(ms))
        except ValueError:
            wait = None
    if wait is None and (value := headers.get("retry-after")):
        try:
            wait = timedelta(seconds=float(value))
        except ValueError:
            try:
                wait = parsedate_to_datetime(value) - parsedate_to_datetime(
                    headers.get("date", value)
                )
            except (TypeError, ValueError):
                wait = None
    if wait is None or wait <= timedelta(0):
        return None
    return min(wait, MAX_RETRY_AFTER)


def translate(provider: str, exc: Exception) -> Exception:
    """An SDK exception as the error Temporal should see."""
    if isinstance(exc, _sdk_errors("APIStatusError")):
        refused = cast("anthropic.APIStatusError | openai.APIStatusError", exc)
        status = refused.status_code
        detail = _error_message(refused)
        if status in _REJECTED:
            hint = " (check the API key)" if status in (401, 403) else ""
            return AiRequestRejected(
                f"{provider} refused the request: HTTP {status} {detail}{hint}"
            )
        return ApplicationError(
            f"{provider} is unavailable: HTTP {status} {detail}",
            type="AiUnavailable",
            next_retry_delay=retry_after(refused.response.headers),
        )
    if isinstance(exc, _sdk_errors("APIConnectionError")):
        kind = "timed out" if isinstance(exc, _sdk_errors("APITimeoutError")) else "unreachable"
        return ApplicationError(f"{provider} {kind}: {exc}", type="AiUnavailable")
    return exc


def _error_message(exc: anthropic.APIStatusError | openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc.message)


@dataclass
class AnthropicProvider:
    """Claude, answering through a forced tool call."""

    client: anthropic.AsyncAnthropic
    fast_model: str
    strong_model: str
    name: str = field(default="anthropic")

    @classmethod
    def connect(
        cls, api_key: str, base_url: str | None, fast_model: str, strong_model: str, timeout: float
    ) -> AnthropicProvider:
        import anthropic  # noqa: PLC0415 - an extra, imported once chosen

        client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout
        )
        return cls(client=client, fast_model=fast_model, strong_model=strong_model)

    async def call(self, request: StructuredCall) -> StructuredReply:
        started = time.perf_counter()
        try:
            message = await self.client.messages.create(
                model=request.model,
                max_tokens=request.max_tokens,
                system=request.system,
                messages=[{"role": "user", "content": self._content(request)}],
                tools=[
                    {
                        "name": request.tool_name,
                        "description": request.tool_description,
                        "input_schema": request.schema,
                    }
                ],
                tool_choice={"type": "tool", "name": request.tool_name},
            )
        except Exception as exc:
            raise translate(self.name, exc) from exc
        usage = AiUsage(
            provider=self.name,
            model=message.model or request.model,
            task=request.task,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            latency_ms=round((time.perf_counter() - started) * 1000),
        )
        for block in message.content:
            if (
                block.type == "tool_use"
                and block.name == request.tool_name
                and isinstance(block.input, dict)
            ):
                return StructuredReply(data=dict(block.input), usage=usage)
        return StructuredReply(None, usage, f"answered without calling {request.tool_name}")

    @staticmethod
    def _content(request: StructuredCall) -> Any:
        if not request.pictures:
            return request.user
        pictures: list[Any] = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": p.media_type, "data": p.base64},
            }
            for p in request.pictures
        ]
        return [*pictures, {"type": "text", "text": request.user}]


@dataclass
class OpenAIProvider:
    """OpenAI (or any gateway speaking its API), answering through a forced function call."""

    client: openai.AsyncOpenAI
    fast_model: str
    strong_model: str
    name: str = field(default="openai")

    @classmethod
    def connect(
        cls, api_key: str, base_url: str | None, fast_model: str, strong_model: str, timeout: float
    ) -> OpenAIProvider:
        import openai  # noqa: PLC0415 - an extra, imported once chosen

        client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout
        )
        return cls(client=client, fast_model=fast_model, strong_model=strong_model)

    async def call(self, request: StructuredCall) -> StructuredReply:
        started = time.perf_counter()
        try:
            completion = await self.client.chat.completions.create(
                model=request.model,
                max_completion_tokens=request.max_tokens,
                messages=[
                    {"role": "system", "content": request.system},
                    {"role": "user", "content": self._content(request)},
                ],
                tools=[
                    {
                        "type": "function",
                        "function": {
                            "name": request.tool_name,
                            "description": request.tool_description,
                            "parameters": request.schema,
                        },
                    }
                ],
                tool_choice={"type": "function", "function": {"name": request.tool_name}},
            )
        except Exception as exc:
            raise translate(self.name, exc) from exc
        usage = AiUsage(
            provider=self.name,
            model=completion.model or request.model,
            task=request.task,
            input_tokens=completion.usage.prompt_tokens if completion.usage else 0,
            output_tokens=completion.usage.completion_tokens if completion.usage else 0,
            latency_ms=round((time.perf_counter() - started) * 1000),
        )
        calls = completion.choices[0].message.tool_calls if completion.choices else None
        for tool_call in calls or []:
            if tool_call.type == "function" and tool_call.function.name == request.tool_name:
                try:
                    data = json.loads(tool_call.function.arguments)
                except json.JSONDecodeError:
                    return StructuredReply(None, usage, "arguments that are not JSON")
                if isinstance(data, dict):
                    return StructuredReply(data=data, usage=usage)
        return StructuredReply(None, usage, f"answered without calling {request.tool_name}")

    @staticmethod
    def _content(request: StructuredCall) -> Any:
        if not request.pictures:
            return request.user
        pictures: list[Any] = [
            {"type": "image_url", "image_url": {"url": f"data:{p.media_type};base64,{p.base64}"}}
            for p in request.pictures
        ]
        return [{"type": "text", "text": request.user}, *pictures]
