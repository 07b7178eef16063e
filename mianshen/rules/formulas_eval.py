"""The names a policy uses on one date: fields (catalogue or derived), parameters, Chinese labels.

`describe` and `evaluate_condition` take one (with the enterprise's profile); `plan.PolicyPlan`
uses its enterprise-free lookups. Values for an enterprise are computed by the plan's closures.
"""

from __future__ import annotations

import datetime as dt

from mianshen.catalogue import Catalogue, Field
from mianshen.rules.ast import ParamValue, Policy
from mianshen.rules.dates import AS_OF
from mianshen.rules.profile import Profile
from mianshen.rules.values import number_with_unit


class FormulaEnv:
    def __init__(self, policy: Policy, profile: Profile, as_of: dt.date, catalogue: Catalogue) -> None:
        self.policy = policy
        self.profile = profile
        self.as_of = as_of
        self.catalogue = catalogue
        self._params = {name.replace("-", "_"): name for name in policy.parameters}

    def field(self, name: str) -> Field:
        derived = self.policy.derived.get(name) or self.policy.derived.get(name.replace("_", "-"))
        if derived is not None:
            return Field(derived.name, derived.label, derived.type, source=f"派生：{derived.source}")
        return self.catalogue.fields[name]

    def param_value(self, name: str) -> ParamValue | None:
        """The value in force on the date: the last one starting on or before it."""
        param = self.policy.parameters[name]
        found = None
        for candidate in param.values:
            if candidate.start <= self.as_of:
                found = candidate
        return found

    def labels(self) -> dict[str, str]:
        out = {name: f.label for name, f in self.catalogue.fields.items()}
        out.update({d.name: d.label for d in self.policy.derived.values()})
        for formula, name in self._params.items():  # a parameter shows the value in force on the date
            param, value = self.policy.parameters[name], self.param_value(name)
            shown = f"（{number_with_unit(value.value, param.type, '')}）" if value is not None else ""
            out[formula] = f"{param.label or name}{shown}"
        out[AS_OF] = "评估日"
        return out
