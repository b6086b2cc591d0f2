"""Which provider the settings ask for."""

from __future__ import annotations

from opsdesk.ai.providers import AnthropicProvider, OpenAIProvider, Provider
from opsdesk.settings import Settings

DEFAULT_MODELS = {
    "anthropic": ("claude-haiku-4-5", "claude-sonnet-4-6"),
    "openai": ("gpt-5-mini", "gpt-5"),
}


def build_provider(settings: Settings) -> Provider | None:
    """The configured model provider, or None for the offline rules."""
    name = settings.resolved_ai_provider
    if name == "rules":
        return None
    fast, strong = DEFAULT_MODELS[name]
    fast = settings.ai_fast_model or fast
    strong = settings.ai_strong_model or strong
    try:
        if name == "anthropic":
            # Settings refuse a chosen provider without its key.
            assert settings.anthropic_api_key is not None
            return AnthropicProvider.connect(
                settings.anthropic_api_key.get_secret_value(),
                settings.anthropic_base_url,
                fast,
                strong,
                settings.ai_timeout,
            )
        assert settings.openai_api_key is not None
        return OpenAIProvider.connect(
            settings.openai_api_key.get_secret_value(),
            settings.openai_base_url,
            fast,
            strong,
            settings.ai_timeout,
        )
    except ModuleNotFoundError:
        raise MissingSdk(
            f"the {name} provider needs its SDK: install opsdesk[{name}] "
            f"(or OPSDESK_AI_PROVIDER=rules to run offline)"
        ) from None


class MissingSdk(RuntimeError):
    """A provider was chosen whose SDK (an extra) is not installed."""
