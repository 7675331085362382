"""Local models: a catalogue of small GGUF coder models, their fetch, and a managed server.

Nothing here imports xllamacpp or litellm until a server starts or a context window is asked.
"""

from gome.models.catalogue import (
    CATALOGUE,
    DEFAULT_MODEL,
    ModelSpec,
    ModelUnavailableError,
    UnknownModelError,
    get_spec,
)
from gome.models.fetch import ModelStatus, list_models, model_path, pull, remove
from gome.models.resolve import LOCAL, ModelHandle, estimate_tokens, resolve_model
from gome.models.server import (
    LocalModelServer,
    ModelServerError,
    ServerSettings,
    choose_settings,
    serve_forever,
)

__all__ = [
    "CATALOGUE",
    "DEFAULT_MODEL",
    "LOCAL",
    "LocalModelServer",
    "ModelHandle",
    "ModelServerError",
    "ModelSpec",
    "ModelStatus",
    "ModelUnavailableError",
    "ServerSettings",
    "UnknownModelError",
    "choose_settings",
    "estimate_tokens",
    "get_spec",
    "list_models",
    "model_path",
    "pull",
    "remove",
    "resolve_model",
    "serve_forever",
]
