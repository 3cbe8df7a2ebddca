"""Declared ROS parameters backed by a validated, frozen dataclass.

Each node lists its parameters once as ``ParamSpec`` rows (name, default, description, numeric
range, read-only). ``declare`` declares them with descriptors (shown by ``ros2 param describe``),
``read_config`` turns the current values into the node's config dataclass, whose
``__post_init__`` validates them, and ``validate_update`` checks a parameter change against the
same dataclass before rclpy accepts it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)

ParamValue = bool | int | float | str | tuple[float, ...] | tuple[str, ...]
ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter. ``kind`` is one of bool, int, float, str, float_array, str_array."""

    name: str
    kind: str
    default: ParamValue
    description: str
    minimum: float | None = None
    maximum: float | None = None
    read_only: bool = False

    _TYPES = {
        "bool": ParameterType.PARAMETER_BOOL,
        "int": ParameterType.PARAMETER_INTEGER,
        "float": ParameterType.PARAMETER_DOUBLE,
        "str": ParameterType.PARAMETER_STRING,
        "float_array": ParameterType.PARAMETER_DOUBLE_ARRAY,
        "str_array": ParameterType.PARAMETER_STRING_ARRAY,
    }

    def __post_init__(self) -> None:
        if self.kind not in self._TYPES:
            raise ValueError(
                f"ParamSpec {self.name}.kind: expected one of {sorted(self._TYPES)}, found "
                f"{self.kind!r}"
            )

    def descriptor(self) -> ParameterDescriptor:
        """The ``rcl_interfaces/ParameterDescriptor`` (type, description, range, read-only)."""
        descriptor = ParameterDescriptor(
            name=self.name,
            type=self._TYPES[self.kind],
            description=self.description,
            read_only=self.read_only,
        )
        if self.minimum is not None and self.maximum is not None:
            if self.kind == "float":
                descriptor.floating_point_range = [
                    FloatingPointRange(
                        from_value=float(self.minimum), to_value=float(self.maximum), step=0.0
                    )
                ]
            elif self.kind == "int":
                descriptor.integer_range = [
                    IntegerRange(from_value=int(self.minimum), to_value=int(self.maximum), step=1)
                ]
        return descriptor

    def coerce(self, value: Any) -> ParamValue:
        """A parameter value as the config dataclass expects it (arrays become tuples)."""
        if self.kind == "float_array":
            return tuple(float(v) for v in value)
        if self.kind == "str_array":
            return tuple(str(v) for v in value)
        if self.kind == "float":
            return float(value)
        return value


def defaults(specs: Sequence[ParamSpec]) -> dict[str, ParamValue]:
    """``{name: default}`` of the specs (what a launch file may override)."""
    return {spec.name: spec.default for spec in specs}


def declare(node: Any, specs: Sequence[ParamSpec], overrides: dict[str, Any] | None = None) -> None:
    """Declare every spec on ``node`` (an rclpy Node); ``overrides`` replace the defaults."""
    overrides = overrides or {}
    unknown = set(overrides) - {spec.name for spec in specs}
    if unknown:
        raise ValueError(
            f"parameter overrides: expected names of declared parameters, found {sorted(unknown)}"
        )
    for spec in specs:
        value = overrides.get(spec.name, spec.default)
        if isinstance(value, tuple):
            value = list(value)
        node.declare_parameter(spec.name, value, spec.descriptor())
    refuse_undeclared(node)


def refuse_undeclared(node: Any) -> None:
    """Raise ValueError naming every parameter given to ``node`` (``-p``, ``--params-file``, launch
    files) that it does not declare: a misspelled safety limit must stop the node, not leave the
    default in force."""
    # rclpy keeps the values given at start-up in Node._parameter_overrides (every distro since
    # Foxy); nodes without allow_undeclared_parameters never look at the undeclared ones.
    given = getattr(node, "_parameter_overrides")
    unknown = sorted(name for name in given if not node.has_parameter(name))
    if not unknown:
        return
    declared = sorted(node.list_parameters([], 0).names)
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, declared, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise ValueError(
        f"node {node.get_name()!r}: unknown parameter {', '.join(hints)}; expected names from "
        f"{declared}"
    )


def build_config(
    config_type: type[ConfigT], specs: Sequence[ParamSpec], values: dict[str, Any]
) -> ConfigT:
    """Config dataclass from ``{name: value}`` (validated by its ``__post_init__``)."""
    by_name = {spec.name: spec for spec in specs}
    fields = {field.name for field in dataclasses.fields(config_type)}  # type: ignore[arg-type]
    missing = fields - set(values)
    if missing:
        raise ValueError(f"parameters: expected values for {sorted(missing)}")
    return config_type(**{name: by_name[name].coerce(values[name]) for name in fields})


def read_config(node: Any, config_type: type[ConfigT], specs: Sequence[ParamSpec]) -> ConfigT:
    """The node's current parameter values as a validated config dataclass."""
    values = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    return build_config(config_type, specs, values)


def validate_update(
    node: Any, config_type: type[ConfigT], specs: Sequence[ParamSpec], parameters: Sequence[Any]
) -> tuple[SetParametersResult, ConfigT | None]:
    """Check a parameter change (rclpy ``Parameter`` list) against the config's validation.

    Returns the result for rclpy and the new config (None when rejected).
    """
    values = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    for parameter in parameters:
        values[parameter.name] = parameter.value
    try:
        config = build_config(config_type, specs, values)
    except (ValueError, TypeError) as error:
        return SetParametersResult(successful=False, reason=str(error)), None
    return SetParametersResult(successful=True), config
