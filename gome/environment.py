"""What a solution script can rely on: Python, ML packages, pandas' string dtype, hardware.

Every prompt states this text so a model never writes code for a library that is not installed
or for a pandas whose behaviour differs. Detection is cheap: package versions come from
`importlib.metadata` (nothing heavy is imported) and the GPU from one `nvidia-smi` query.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata

# Display name -> distribution names that provide it (first one installed wins).
PACKAGE_CATALOG: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "scipy": ("scipy",),
    "scikit-learn": ("scikit-learn",),
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "catboost": ("catboost",),
    "optuna": ("optuna",),
    "joblib": ("joblib",),
    "statsmodels": ("statsmodels",),
    "polars": ("polars",),
    "pyarrow": ("pyarrow",),
    "matplotlib": ("matplotlib",),
    "pillow": ("pillow", "Pillow"),
    "opencv": ("opencv-python-headless", "opencv-python"),
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "transformers": ("transformers",),
    "timm": ("timm",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
}

GIB = 1024**3
# The seed a script should draw its randomness from; the harness re-runs the best scripts with
# other values before choosing the final submission (gome/final_selection.py).
SEED_ENV = "GOME_SEED"


@dataclass(frozen=True)
class EnvironmentInfo:
    """The solution environment as measured on this machine."""

    python_version: str
    packages: dict[str, str]  # display name -> version, installed ones only
    missing: tuple[str, ...]  # catalogue entries that are not installed
    cpu_count: int
    memory_bytes: int
    gpus: tuple[str, ...]  # one "name, memory" entry per GPU; empty when none

    @property
    def pandas_major(self) -> int | None:
        version = self.packages.get("pandas")
        return int(version.split(".")[0]) if version else None

    def describe(self) -> str:
        """The paragraph prompts include, one fact per line."""
        lines = [f"Python {self.python_version} (solutions run with this interpreter)."]
        lines.append(
            "Installed packages: "
            + ", ".join(f"{name} {version}" for name, version in self.packages.items())
            + "."
        )
        if self.missing:
            lines.append("Not installed (do not import): " + ", ".join(self.missing) + ".")
        if self.pandas_major is not None and self.pandas_major >= 3:
            lines.append(
                "pandas >= 3: text columns load with the `str` dtype, not `object` "
                "(`is_object_dtype` is False for them); filling a text column with a number "
                "(`fillna(0)`) is not supported (warns now, raises in future) - fill text with "
                "a string or encode it first; select text columns with "
                "`select_dtypes(include=['object', 'str'])`."
            )
        lines.append(
            f"Seed every random number generator from `int(os.environ.get('{SEED_ENV}', 0))` "
            "(the harness re-runs the best scripts with other seeds)."
        )
        lines.append(
            f"Hardware: {self.cpu_count} CPU cores, {self.memory_bytes / GIB:.0f} GiB RAM, "
            + ("GPU: " + "; ".join(self.gpus) if self.gpus else "no GPU")
            + "."
        )
        return "\n".join(lines)


def _installed_version(distributions: tuple[str, ...]) -> str | None:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _query_gpus() -> tuple[str, ...]:
    """GPU names and memory from `nvidia-smi`; empty when there is none or it fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@functools.cache
def environment_info() -> EnvironmentInfo:
    """Measure the environment once per process."""
    packages: dict[str, str] = {}
    missing: list[str] = []
    for name, distributions in PACKAGE_CATALOG.items():
        version = _installed_version(distributions)
        if version is None:
            missing.append(name)
        else:
            packages[name] = version
    return EnvironmentInfo(
        python_version=platform.python_version(),
        packages=packages,
        missing=tuple(missing),
        cpu_count=_cpu_count(),
        memory_bytes=os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        gpus=_query_gpus(),
    )


@functools.cache
def describe_environment() -> str:
    """The environment text every prompt must state (measured once, then cached)."""
    return environment_info().describe()
