"""The reference schemes of the rulebook, shipped as YAML inside the package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from kaohe.errors import UnknownPresetError

if TYPE_CHECKING:
    from kaohe.scheme.models import Scheme

PRESET_IDS: tuple[str, ...] = (
    "taobao-presales",
    "recharge-specialist",
    "aftersales-130",
    "ecommerce-commission",
    "sales-rep",
    "logistics-composite",
    "aftersales-service",
    "operator-monthly",
    "taobao-policy",
    "property-service",
    "rnd-annual",
    "foreign-trade",
)


def preset_text(preset_id: str) -> str:
    if preset_id not in PRESET_IDS:
        raise UnknownPresetError(
            f"unknown preset {preset_id!r}; known presets: {', '.join(PRESET_IDS)}"
        )
    return resources.files(__package__).joinpath(f"{preset_id}.yaml").read_text("utf-8")


@cache
def load_preset(preset_id: str) -> Scheme:
    # the scheme model, its formula parser and the engine load only when a scheme is used
    from kaohe.engine.load import load_scheme_text

    return load_scheme_text(preset_text(preset_id), f"preset {preset_id}")


@dataclass(frozen=True)
class PresetSummary:
    id: str
    name: str
    name_en: str
    description: str
    description_en: str


def preset_summary(preset_id: str) -> PresetSummary:
    """A preset's names and descriptions, read from its YAML without compiling the scheme
    (for listing them quickly; the shipped presets are validated by the test suite)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(preset_text(preset_id), Loader=loader)
    return PresetSummary(preset_id, str(data.get("name", "")), str(data.get("name_en", "")),
                         str(data.get("description", "")), str(data.get("description_en", "")))
