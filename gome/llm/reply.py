"""What a model call returns, and the errors the LLM layer raises."""

from __future__ import annotations

from dataclasses import dataclass

from gome.errors import GomeError


@dataclass(frozen=True)
class LLMReply:
    """One completion.

    `model` is the model string the caller asked for (not the provider's dated alias), so
    ledgers group by what the user configured. `cost_usd` is 0.0 for cache hits and for models
    litellm has no price for (local servers, unknown names).
    """

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    duration_s: float
    finish_reason: str | None
    cached: bool = False
    # the JSON arguments of the reply's first tool call, when the request offered tools
    tool_arguments: str = ""


class LLMError(GomeError):
    """A model call failed for good: bad credentials, bad request, or retries exhausted."""


class ContextWindowError(LLMError):
    """The prompt does not fit the model's context window; the caller should shorten it."""


class BudgetExceededError(LLMError):
    """The run's dollar budget for model calls is spent."""


class DeadlineReachedError(BudgetExceededError):
    """The run's search time is spent: no call may start or outlast it (the time kept for
    the run's final re-runs is not the model's)."""


class MalformedReplyError(LLMError):
    """A reply lacks the structure the caller asked for (JSON, a code block)."""


class NoCodeBlockError(MalformedReplyError):
    """A reply has no complete fenced code block in the requested language."""
