"""From `--model` to what the LLM client needs: a provider model string, or a local server.

`local` and `local:<name>` (and no `--model` at all on a machine with no provider key) mean a
catalogue model served on 127.0.0.1; anything else is a litellm model string passed through.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import TracebackType

from rich.console import Console

from gome.models.catalogue import DEFAULT_MODEL, get_spec
from gome.models.fetch import pull
from gome.models.server import LocalModelServer, ServerSettings, choose_settings

LOCAL = "local"
# The OpenAI client insists on a key; llama.cpp's server ignores it.
LOCAL_API_KEY = "sk-local-no-key"
# Used when no tokenizer is at hand: code and English average about 3.5 characters per token
# under Qwen's and OpenAI's BPE vocabularies; an estimate, so leave headroom when trimming.
CHARS_PER_TOKEN = 3.5

# Provider key in the environment -> the model `gome solve` uses when no --model is given.
# First match wins; each is in litellm's price map, so the ledger shows real dollars.
PROVIDER_DEFAULTS: dict[str, str] = {
    "OPENAI_API_KEY": "openai/gpt-4.1-mini",
    "ANTHROPIC_API_KEY": "anthropic/claude-haiku-4-5",
    "GEMINI_API_KEY": "gemini/gemini-2.5-flash",
    "DEEPSEEK_API_KEY": "deepseek/deepseek-chat",
    "MISTRAL_API_KEY": "mistral/mistral-small-latest",
}


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


@dataclass
class ModelHandle:
    """The model a run talks to. A context manager: for a local model it owns the server.

    `api_base` is known only inside the `with` block for a local model (the server picks a
    free port when it starts). `LLMClient(h.model, api_base=h.api_base, api_key=h.api_key)`.
    """

    model: str
    local_name: str | None = None
    server: LocalModelServer | None = field(default=None, repr=False)
    explicit_api_base: str | None = None

    @property
    def is_local(self) -> bool:
        """A catalogue model, served by this handle or already running at `api_base`."""
        return self.local_name is not None

    @property
    def api_base(self) -> str | None:
        return self.server.api_base if self.server else self.explicit_api_base

    @property
    def api_key(self) -> str | None:
        return LOCAL_API_KEY if self.is_local else None

    @property
    def context_window(self) -> int | None:
        """Prompt plus reply tokens one request may use; None when unknown."""
        if self.server:
            return self.server.settings.n_ctx
        if self.local_name:  # served elsewhere (`gome models serve`, a bench's shared server)
            return choose_settings(get_spec(self.local_name)).n_ctx
        try:
            from gome.llm.client import _litellm

            info = _litellm().get_model_info(self.model)
        except Exception:  # unknown to litellm's price map: the provider will say if too long
            return None
        return info.get("max_input_tokens") or info.get("max_tokens")

    def count_tokens(self, text: str) -> int:
        """Tokens of `text`: exact from a running local server, else `estimate_tokens`."""
        if self.server and self.server.pid is not None:
            return self.server.count_tokens(text)
        return estimate_tokens(text)

    def __enter__(self) -> ModelHandle:
        if self.server:
            self.server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.server:
            self.server.stop()


def provider_default() -> str | None:
    """The default API model for the first provider key found in the environment."""
    return next((m for key, m in PROVIDER_DEFAULTS.items() if os.environ.get(key)), None)


def resolve_model(
    model: str | None,
    console: Console | None = None,
    *,
    api_base: str | None = None,
    settings: ServerSettings | None = None,
) -> ModelHandle:
    """The handle for `--model` (None: a provider default if a key is set, else `local`).

    A local model is fetched here (download shown once, then cached) but its server starts
    only on entering the handle; with `api_base`, it is already served there (by `gome models
    serve` or a bench's shared server) and nothing is fetched or started. Raises
    `ModelUnavailableError` when it cannot be fetched, `UnknownModelError` for a
    `local:<name>` not in the catalogue.
    """
    model = model or provider_default() or LOCAL
    if model != LOCAL and not model.startswith(f"{LOCAL}:"):
        return ModelHandle(model=model, explicit_api_base=api_base)
    name = model.partition(":")[2] or DEFAULT_MODEL
    spec = get_spec(name)
    if api_base:
        served = f"openai/{spec.served_name}"
        return ModelHandle(model=served, local_name=name, explicit_api_base=api_base)
    path = pull(name, console)
    server = LocalModelServer(spec, path, settings or choose_settings(spec))
    return ModelHandle(model=f"openai/{spec.served_name}", local_name=name, server=server)
