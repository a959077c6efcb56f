"""Which model and policy the service decides with, re-resolved when the stores change.

The model is a folder, a registry version, or (default) the newest approved model; the
policy is a file or a published reference (default ``baseline``, its current release).
Both stores are append-only logs, so their size and modification time tell cheaply
whether an approval or a publication happened since the last resolution.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from clearline.core.policy import load_policy
from clearline.core.scoring.artefact import load_model
from clearline.services.line_review import Deployment
from clearline.store.policies import PolicyStore
from clearline.store.registry import Registry


class NotDeployable(RuntimeError):
    """No usable model or policy (the message says what to do)."""


@dataclass(frozen=True)
class Source:
    registry: Path
    policies: Path
    model: str | None = None
    policy: str = "baseline"
    stress_index: float | None = None


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


class Deployer:
    """Resolves and caches the :class:`Deployment`; thread-safe."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._current: Deployment | None = None

    def current(self) -> Deployment:
        s = self.source
        key = (_stamp(s.registry / "log.jsonl"), _stamp(s.policies / "log.jsonl"))
        with self._lock:
            if self._current is None or key != self._key:
                self._current, self._key = resolve(s), key
            return self._current


def resolve(s: Source) -> Deployment:
    registry = Registry(s.registry)
    if s.model is not None and Path(s.model).is_dir():
        folder = Path(s.model)
    else:
        version = s.model or _newest_approved(registry)
        state = registry.state(version)
        if state is None:
            raise NotDeployable(f"model {version} is not in the registry {s.registry}")
        if state == "retired":
            raise NotDeployable(f"model {version} is retired")
        folder = registry.model_dir(version)
    model, artefact = load_model(folder)
    if Path(s.policy).is_file():
        policy = load_policy(Path(s.policy))
    else:
        try:
            policy = PolicyStore(s.policies).load(s.policy)
        except ValueError as exc:
            raise NotDeployable(str(exc)) from exc
    return Deployment(model, artefact["model_version"], policy, s.stress_index)


def _newest_approved(registry: Registry) -> str:
    approved = [e for e in registry.list() if e.state == "approved"]
    if not approved:
        raise NotDeployable(
            f"no approved model in {registry.root}; approve one with `clearline models approve`"
        )
    return max(approved, key=lambda e: e.registered_at).model_version
