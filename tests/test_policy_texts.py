"""Published policy texts are read back without positions (load_trusted) into exactly the policy
the checked, positioned reading gives — for every shipped policy and the 100 benchmark variants —
and YAML 1.2 scalars keep their meaning (`no`, `on`, `0755`, `1:30` stay text or decimal)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from mianshen.benchmarks.variants import make_variants
from mianshen.errors import Location
from mianshen.rules.loader import SHIPPED, load_policy, load_policy_text
from mianshen.rules.yamlsource import DateText, NumberText, load_trusted, load_yaml

ROOT = Path(__file__).resolve().parent.parent


def _without_places(value: Any) -> Any:
    """A policy as plain data, without the source positions (the only thing a trusted read drops)."""
    if isinstance(value, Location):
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _without_places(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _without_places(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_places(v) for v in value]
    return value


def test_trusted_reading_gives_the_checked_policy(tmp_path: Path) -> None:
    paths = sorted((SHIPPED).glob("*.yaml")) + [v.path for v in make_variants(tmp_path, 100)]
    for path in paths:
        checked = load_policy(path)
        trusted = load_policy_text(path.read_text(encoding="utf-8"), str(path), trusted=True)
        assert _without_places(trusted) == _without_places(checked), path.name


def test_trusted_scalars_are_those_of_yaml_1_2() -> None:
    text = "a: no\nb: on\nc: 0755\nd: 1:30\ne: 0.055\nf: 2025-06-30\ng: true\nh: ~\ni: 12\n"
    positioned, problems = load_yaml(text, "x.yaml")
    trusted = load_trusted(text)
    assert not problems and dict(positioned) == trusted
    assert trusted["a"] == "no" and trusted["c"] == 755 and trusted["d"] == "1:30"
    assert isinstance(trusted["e"], NumberText) and trusted["e"] == "0.055"
    assert isinstance(trusted["f"], DateText) and trusted["g"] is True and trusted["h"] is None
