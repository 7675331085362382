"""Prompt budgets: how many tokens a prompt may use, and how they are counted.

A prompt may use the model's context window minus the tokens reserved for the reply, and at
most `max_prompt_tokens` when a cap is set (a small local model prefills a few hundred tokens
a second on a CPU, so its prompts are capped well below its window). Tokens are counted with
litellm's tokenizer for models litellm knows, else estimated as `len(text) // 3` (local and
unknown models; conservative for code and English under BPE vocabularies).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

DEFAULT_CONTEXT_WINDOW = 8192
DEFAULT_REPLY_TOKENS = 4096
FALLBACK_CHARS_PER_TOKEN = 3


def fallback_count(text: str) -> int:
    return len(text) // FALLBACK_CHARS_PER_TOKEN


@cache
def _model_info(model: str) -> dict[str, Any] | None:
    """litellm's entry for `model` (offline: its bundled price map), None when unknown."""
    from gome.llm.client import _litellm

    try:
        return dict(_litellm().get_model_info(model))
    except Exception:  # not in litellm's map: a local server or an unknown name
        return None


def context_window(model: str | None) -> int:
    """Prompt plus reply tokens `model` accepts: litellm's figure, else `DEFAULT_CONTEXT_WINDOW`."""
    info = _model_info(model) if model else None
    if not info:
        return DEFAULT_CONTEXT_WINDOW
    return int(info.get("max_input_tokens") or info.get("max_tokens") or DEFAULT_CONTEXT_WINDOW)


@dataclass(frozen=True)
class PromptBudget:
    """The most tokens one prompt may use, and the model whose tokenizer counts them."""

    max_prompt_tokens: int | None = None  # None: no limit
    model: str | None = None

    def count(self, text: str) -> int:
        if self.model and _model_info(self.model):
            from gome.llm.client import _litellm

            return int(_litellm().token_counter(model=self.model, text=text))
        return fallback_count(text)

    def count_messages(self, messages: list[dict[str, str]]) -> int:
        return self.count("\n".join(m["content"] for m in messages))

    def fits(self, messages: list[dict[str, str]]) -> bool:
        return self.max_prompt_tokens is None or (
            self.count_messages(messages) <= self.max_prompt_tokens
        )

    @classmethod
    def for_client(cls, client: object, cap: int | None = None) -> PromptBudget:
        """The budget of prompts sent through `client` (an `LLMClient`; test fakes that lack
        its attributes get the defaults): its window (the local server's `n_ctx`, else
        litellm's) minus its reply limit, capped at `cap`."""
        model = getattr(client, "model", None)
        model = model if isinstance(model, str) else None
        window = getattr(client, "context_window", None) or context_window(model)
        reply = getattr(client, "max_tokens", None) or DEFAULT_REPLY_TOKENS
        limit = max(1, window - reply)
        return cls(min(limit, cap) if cap else limit, model)
