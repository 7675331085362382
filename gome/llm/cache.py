"""On-disk replay cache: one JSON file per request, keyed by a hash of the request."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gome.llm.reply import LLMReply


def request_key(model: str, messages: list[dict], params: dict[str, Any]) -> str:
    """A stable hash of what determines a reply: model, messages and sampling parameters.

    Connection details (api_base, api_key, timeout) are deliberately left out by the caller,
    so a run replays even when a local server comes up on another port.
    """
    material = json.dumps(
        {"model": model, "messages": messages, "params": params},
        sort_keys=True,
        default=repr,
        ensure_ascii=False,
    )
    return hashlib.sha256(material.encode()).hexdigest()


class ReplayCache:
    """Stores replies under `root/<key[:2]>/<key>.json`; writes are atomic (temp + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> LLMReply | None:
        """The stored reply, marked cached and free, or None on a miss or an unreadable entry."""
        try:
            data = json.loads(self._path(key).read_text())
            return LLMReply(
                text=data["text"],
                model=data["model"],
                prompt_tokens=int(data["prompt_tokens"]),
                completion_tokens=int(data["completion_tokens"]),
                cost_usd=0.0,
                duration_s=0.0,
                finish_reason=data.get("finish_reason"),
                cached=True,
                tool_arguments=data.get("tool_arguments", ""),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, reply: LLMReply) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "text": reply.text,
            "model": reply.model,
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "finish_reason": reply.finish_reason,
            "original_cost_usd": reply.cost_usd,
            "tool_arguments": reply.tool_arguments,
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, ensure_ascii=False)
        os.replace(tmp, path)
