"""The reference schemes of the rulebook, shipped as YAML inside the package."""

from __future__ import annotations

from functools import cache
from importlib import resources

from kaohe.engine.load import load_scheme_text
from kaohe.errors import UnknownPresetError
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
)


def preset_text(preset_id: str) -> str:
    if preset_id not in PRESET_IDS:
        raise UnknownPresetError(
            f"unknown preset {preset_id!r}; known presets: {', '.join(PRESET_IDS)}"
        )
    return resources.files(__package__).joinpath(f"{preset_id}.yaml").read_text("utf-8")


@cache
def load_preset(preset_id: str) -> Scheme:
    return load_scheme_text(preset_text(preset_id), f"preset {preset_id}")
