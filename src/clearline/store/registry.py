"""The model registry: immutable artefacts and an append-only log of state changes.

A registry is a folder:

    REGISTRY/<model_version>/model.json   byte-for-byte copy of the trained artefact
    REGISTRY/log.jsonl                    one JSON line per event, never rewritten

A model is `draft` when registered; `approve` makes it usable for production reviews,
`retire` ends its life. Allowed moves: draft -> approved, draft -> retired,
approved -> retired. State is never stored, only derived from the log, so the history
of who approved what, and when, cannot drift from the state shown.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from clearline.core.scoring.artefact import load_model

STATES = ("draft", "approved", "retired")
MOVES = {("draft", "approved"), ("draft", "retired"), ("approved", "retired")}


class RegistryError(ValueError):
    """A registry operation that is not allowed, with the reason."""


@dataclass(frozen=True)
class Entry:
    model_version: str
    state: str
    registered_at: str
    history: tuple[dict[str, Any], ...]
    meta: dict[str, Any]


class Registry:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def _log(self) -> Path:
        return self.root / "log.jsonl"

    def _artefact(self, version: str) -> Path:
        return self.model_dir(version) / "model.json"

    def model_dir(self, version: str) -> Path:
        """The folder holding this version's model.json, for commands taking --model."""
        return self.root / version

    def _events(self) -> list[dict[str, Any]]:
        if not self._log.is_file():
            return []
        lines = self._log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _append(self, event: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._log.open("a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # concurrent writers append whole lines
            f.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def register(self, model_dir: Path, *, at: datetime, by: str = "") -> Entry:
        """Copy a verified artefact into the registry as a draft (idempotent)."""
        _, artefact = load_model(model_dir)  # verifies the content hash
        version = artefact["model_version"]
        if version in self._states():
            return self.get(version)
        target = self._artefact(version)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".partial")
        tmp.write_bytes((Path(model_dir) / "model.json").read_bytes())
        tmp.replace(target)
        self._append(
            {
                "event": "registered",
                "model_version": version,
                "state": "draft",
                "at": at.isoformat(),
                "by": by,
                "content_hash": artefact["content_hash"],
            }
        )
        return self.get(version)

    def _states(self) -> dict[str, str]:
        states: dict[str, str] = {}
        for e in self._events():
            states[e["model_version"]] = e["state"]
        return states

    def state(self, version: str) -> str | None:
        return self._states().get(version)

    def move(self, version: str, to: str, *, at: datetime, by: str, note: str = "") -> Entry:
        if to not in STATES:
            raise RegistryError(f"unknown state {to!r}; states are {', '.join(STATES)}")
        current = self.state(version)
        if current is None:
            raise RegistryError(f"model {version} is not in the registry {self.root}")
        if (current, to) not in MOVES:
            raise RegistryError(f"model {version} is {current}; it cannot become {to}")
        if not by.strip():
            raise RegistryError("changing a model's state needs a name (--by) for the record")
        self._append(
            {
                "event": to,
                "model_version": version,
                "state": to,
                "from": current,
                "at": at.isoformat(),
                "by": by,
                "note": note,
            }
        )
        return self.get(version)

    def get(self, version: str) -> Entry:
        history = tuple(e for e in self._events() if e["model_version"] == version)
        if not history:
            raise RegistryError(f"model {version} is not in the registry {self.root}")
        artefact = json.loads(self._artefact(version).read_text(encoding="utf-8"))
        return Entry(
            model_version=version,
            state=history[-1]["state"],
            registered_at=history[0]["at"],
            history=history,
            meta=artefact.get("meta", {}),
        )

    def list(self) -> list[Entry]:
        seen = dict.fromkeys(e["model_version"] for e in self._events())
        return [self.get(v) for v in seen]
