"""Tables derived from stored runs — bootstrap fits, Self-BLEU, claim rows — stored in the run store themselves.

A chapter re-renders from stored runs; what it derives from them can still cost minutes (hundreds of bootstrap
curve fits). ``stored_table(store, "compounding-fits", fit_table, scores, holdouts)`` computes
``fit_table(scores, holdouts)`` once and reads it back afterwards (``data/runs/derived/<hash>/``). The key is a
digest of the inputs' values (not of where they came from, so a table is recomputed exactly when the per-sample
results it reads changed) and of the source of the modules that compute it: the module of ``compute`` and any
named in ``code`` (the methods it calls). Editing that code makes the next build compute the table afresh.

A table computed from too many runs to key by their values (the summary's claim rows) is a ``tracked_table``: keyed
by its plan and the helper package's source, it records which finished runs it read and is read back only while
each of them is still the run it read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from .config import StageConfig, knob
from .paths import PACKAGE_DIR
from .store import RunStore, code_digest, recording_reads, replay_reads, source_digest, unchanged


@dataclass(frozen=True)
class DerivedConfig(StageConfig):
    """The identity of a derived table: what computes it, from which values, with which code."""

    STAGE = "derived"
    name: str = knob("", doc="what the table is (e.g. 'compounding-fits')")
    inputs: str = knob("", doc="digest of the values the table is computed from")
    code: str = knob("", doc="digest of the source of the modules that compute it")


def _feed(h: Any, value: Any) -> None:
    """Feed a canonical encoding of ``value`` (type-tagged, order-stable) into the hash ``h``."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        h.update(f"{type(value).__name__}:{json.dumps(_columns(value), default=str)}".encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, np.ndarray):
        h.update(f"ndarray:{value.dtype}:{value.shape}".encode())
        if value.dtype == object:
            for item in value.ravel():
                _feed(h, item)
        else:
            h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, StageConfig):
        h.update(f"config:{value.STAGE}:{value.config_hash()}".encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"dataclass:{type(value).__qualname__}".encode())
        _feed(h, {f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    elif isinstance(value, Mapping):
        h.update(f"map:{len(value)}".encode())
        for key in sorted(value, key=repr):
            _feed(h, key)
            _feed(h, value[key])
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}:{len(value)}".encode())
        for item in value:
            _feed(h, item)
    elif value is None or isinstance(value, (str, bool, int, float, np.generic)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise TypeError(f"cannot key a derived table on a {type(value).__name__}; allowed: tables, arrays, "
                        f"configs, dataclasses, mappings, sequences and scalars")


def _columns(frame: pd.DataFrame | pd.Series) -> list[str]:
    if isinstance(frame, pd.Series):
        return [str(frame.name), str(frame.dtype)]
    return [f"{name}:{dtype}" for name, dtype in frame.dtypes.items()]


def digest(*values: Any) -> str:
    """A 16-hex-digit digest of ``values``, equal for equal values in any process."""
    h = hashlib.sha256()
    _feed(h, values)
    return h.hexdigest()[:16]


def stored_table(store: RunStore, name: str, compute: Callable[..., pd.DataFrame], *args: Any,
                 code: Iterable[ModuleType] = (), **kwargs: Any) -> pd.DataFrame:
    """``compute(*args, **kwargs)``, read back from ``store`` when the same inputs and code computed it before."""
    module = inspect.getmodule(compute)
    config = DerivedConfig(name=name, inputs=digest(args, kwargs), code=code_digest([module, *code]))
    if store.is_complete(config):
        return store.load(config).samples
    table = compute(*args, **kwargs)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name}: compute returned a {type(table).__name__}; a derived table must be a DataFrame")
    return store.put(config, table.reset_index(drop=True)).samples


def tracked_table(store: RunStore, name: str, key: Any, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()`` for a table whose inputs are too many runs to key it by their values (the summary's claim
    rows read about a thousand): keyed by ``key`` (e.g. the plan) and the helper code, and read back only while
    every run it read is still finished as it was (``store.recording_reads``); else computed afresh."""
    config = DerivedConfig(name=name, inputs=digest(key), code=source_digest(PACKAGE_DIR))
    if store.is_complete(config):
        stored = store.load(config)
        reads = stored.metrics.get("reads", {})
        if unchanged(reads):
            replay_reads(reads)
            return stored.samples
    with recording_reads() as reads:
        table = compute()
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name}: compute returned a {type(table).__name__}; a derived table must be a DataFrame")
    return store.put(config, table.reset_index(drop=True), {"reads": dict(sorted(reads.items()))}).samples
