"""Typed, frozen, validated run configs: one dataclass per stage of the book.

Every run the book makes is described by one of these configs. The same field names appear in a chapter's
papermill ``parameters`` cell, so ``-p max_answer_tokens 64`` on the command line and ``max_answer_tokens=64`` in
Python mean the same thing. A config validates itself on construction (a bad value is an error that names the
field, the value and what is allowed) and has a stable ``config_hash()`` that keys its results in the run store
(``lpts_helpers.core.store``). Used by every chapter; introduced in ``00-models-and-benchmarks``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

PROFILES = ("smoke", "default", "paper")
"""smoke: seconds on a CPU, for tests; default: the embedded book on a 2-core CPU; paper: GPU/vLLM at paper scale."""


class ConfigError(ValueError):
    """A config field got a value it does not allow; the message names the field, the value and what is allowed."""


def knob(default: Any, *, choices: tuple | None = None, ge: float | None = None, le: float | None = None,
         doc: str = "") -> Any:
    """A config field with its allowed values, checked when the config is built.

    ``choices`` lists the allowed values; ``ge``/``le`` bound numbers (and every element of a tuple of numbers).
    ``doc`` is the one-line meaning, shown in error messages and in ``describe()``.
    """
    meta = {"choices": choices, "ge": ge, "le": le, "doc": doc}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple (immutable) as a config default, not a mutable container")
    return field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(name: str, value: Any, tp: Any) -> Any:
    """Return ``value`` as type ``tp`` where that is lossless (int→float, list→tuple), else raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for arm in typing.get_args(tp):
            if arm is type(None):
                if value is None:
                    return None
                continue
            try:
                return _coerce(name, value, arm)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{name}={value!r} has type {type(value).__name__}; allowed: {_type_name(tp)}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}={value!r} has type {type(value).__name__}; allowed: a list of "
                              f"{_type_name(typing.get_args(tp)[0])}")
        (elem,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return tuple(_coerce(f"{name}[{i}]", v, elem) for i, v in enumerate(value))
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(f"{name}={value!r} is not allowed; allowed: {list(typing.get_args(tp))}")
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is an int in Python; a flag passed as a count (or vice versa) is almost always a mistake.
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} is a bool; allowed: an integer")
    if tp is Any or isinstance(value, tp):
        return value
    raise ConfigError(f"{name}={value!r} has type {type(value).__name__}; allowed: {_type_name(tp)}")


def _check_bounds(name: str, value: Any, meta: Mapping[str, Any]) -> None:
    doc = f" ({meta['doc']})" if meta.get("doc") else ""
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise ConfigError(f"{name}={value!r} is not allowed{doc}; allowed: {list(meta['choices'])}")
    numbers = value if isinstance(value, tuple) else (value,)
    for number in numbers:
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            continue
        if not math.isfinite(number):  # NaN passes every comparison below, and inf is no setting of any knob
            raise ConfigError(f"{name}={value!r} is not a finite number{doc}; allowed: a finite number"
                              + "".join(f", {op} {meta[key]}" for key, op in (("ge", ">="), ("le", "<="))
                                        if meta.get(key) is not None))
        if meta.get("ge") is not None and number < meta["ge"]:
            raise ConfigError(f"{name}={value!r} is out of range{doc}; allowed: >= {meta['ge']}")
        if meta.get("le") is not None and number > meta["le"]:
            raise ConfigError(f"{name}={value!r} is out of range{doc}; allowed: <= {meta['le']}")


@dataclass(frozen=True)
class StageConfig:
    """Base of every stage config: validation, ``to_dict``, ``config_hash`` and per-profile defaults.

    Subclasses set ``STAGE`` (the run store's folder for this kind of run), ``VERSION`` (bump it when the meaning
    of a run changes without its fields changing, e.g. a new prompt wording), ``PROFILE_DEFAULTS`` (the
    values each profile changes from the field defaults) and ``LATE_FIELDS`` (fields added after runs were
    stored, with the value those runs had implicitly: at that value a field stays out of the hash, so the stored
    runs keep their keys).
    """

    STAGE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    PROFILE_DEFAULTS: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    LATE_FIELDS: ClassVar[Mapping[str, Any]] = {}

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(f.name, getattr(self, f.name), hints[f.name])
            _check_bounds(f.name, value, f.metadata)
            object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses override and raise ConfigError."""

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-able values (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def versions(self) -> dict[str, int | str]:
        """Versions of what the run uses besides its own code (prompt templates, extractors, methods, and the
        contents of a checkpoint directory given as the model: ``models.registry.ModelStageConfig``); hashed."""
        return {}

    def identity(self) -> dict[str, Any]:
        """What the hash covers: stage, version, the versions of what the run uses, and the fields — never the
        git commit or the library versions, so unrelated code changes do not invalidate stored results."""
        config = {name: value for name, value in self.to_dict().items()
                  if name not in self.LATE_FIELDS or value != self.LATE_FIELDS[name]}
        identity = {"stage": self.STAGE, "version": self.VERSION, "config": config}
        if self.versions():
            identity["uses"] = self.versions()
        return identity

    def config_hash(self) -> str:
        """A 16-hex-digit digest of ``identity()``, stable across processes, machines and field order."""
        payload = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]):
        """Build from a mapping; an unknown key is an error listing the known ones."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} field(s) {unknown}; allowed: {list(cls.field_names())}")
        return cls(**values)

    @classmethod
    def for_profile(cls, profile: str, /, **overrides: Any):
        """The config a chapter runs under ``profile``, with ``overrides`` on top (``None`` means "no override").

        This is how a chapter's ``parameters`` cell becomes a config: the cell's literals are passed as overrides,
        and any left at ``None`` take the profile's value.
        """
        if profile not in PROFILES:
            raise ConfigError(f"profile={profile!r} is not allowed; allowed: {list(PROFILES)}")
        values = dict(cls.PROFILE_DEFAULTS.get(profile, {}))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(values)

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per field: name, default, meaning and allowed values (for tables in the book and the README)."""
        rows = []
        for f in dataclasses.fields(cls):
            allowed = f.metadata.get("choices")
            bounds = [f"{op} {f.metadata[key]}" for key, op in (("ge", ">="), ("le", "<="))
                      if f.metadata.get(key) is not None]
            rows.append({"field": f.name, "default": f.default, "meaning": f.metadata.get("doc", ""),
                         "allowed": list(allowed) if allowed else (", ".join(bounds) or "")})
        return rows
