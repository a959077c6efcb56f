"""The policy store: published policies are immutable files plus an append-only log.

A store is a folder:

    STORE/<name>/<version>.yaml   byte-for-byte copy of the published YAML (read-only)
    STORE/log.jsonl               one JSON line per publication, never rewritten

Drafts are ordinary YAML files the user edits wherever they like; publishing validates
a draft with :func:`~clearline.core.policy.load_policy` and freezes it. ``version`` is
the policy's own ``name@release+hash8`` (what every decision records), so a decision
can always be traced back to the exact file. A release (``name@release``) is published
once: the same bytes again are a no-op, different bytes are refused (bump ``version``).
The *current* policy of a name is the latest one published under it; like the model
registry, nothing but the log is stored, so what is shown cannot drift from history.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from clearline.core.policy import Policy, load_policy

DEFAULT_STORE = "clearline-policies"


class PolicyStoreError(ValueError):
    """A store operation that is not allowed, or a store that fails its checks."""


@dataclass(frozen=True)
class Published:
    """One published policy as the log records it (``current``: latest of its name)."""

    name: str
    release: str
    version: str
    content_hash: str
    published_at: str
    by: str
    note: str
    current: bool


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PolicyStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def _log(self) -> Path:
        return self.root / "log.jsonl"

    def _file(self, name: str, version: str) -> Path:
        return self.root / name / f"{version}.yaml"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Check-then-write must be atomic: two publishers of one release must not both
        # see it absent and both write.
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            yield

    def _events(self) -> list[dict[str, Any]]:
        if not self._log.is_file():
            return []
        lines = self._log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def _append(self, event: dict[str, Any]) -> None:
        with self._log.open("a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _published(self) -> list[Published]:
        events = [e for e in self._events() if e.get("event") == "published"]
        latest = {e["name"]: e["version"] for e in events}
        return [
            Published(
                name=e["name"],
                release=e["release"],
                version=e["version"],
                content_hash=e["content_hash"],
                published_at=e["at"],
                by=e["by"],
                note=e.get("note", ""),
                current=latest[e["name"]] == e["version"],
            )
            for e in events
        ]

    def publish(
        self, path: Path | str, *, at: datetime, by: str, note: str = ""
    ) -> tuple[Published, bool]:
        """Validate ``path`` and freeze it in the store.

        Returns
        -------
        (Published, bool)
            The entry, and whether it was newly published (``False``: same bytes were
            already published under this release, nothing written).

        Raises
        ------
        PolicyError
            The file does not load (message names the file and field).
        PolicyStoreError
            No ``by``, or the release is already published with different content.
        """
        if not by.strip():
            raise PolicyStoreError("publishing a policy needs a name (--by) for the record")
        policy = load_policy(path)
        data = Path(path).read_bytes()
        digest = sha256_bytes(data)
        with self._locked():
            for p in self._published():
                if (p.name, p.release) != (policy.name, policy.release):
                    continue
                if p.content_hash == digest:
                    return p, False
                raise PolicyStoreError(
                    f"release {policy.release} of {policy.name} is already published "
                    f"with different content ({p.version}); bump `version`"
                )
            target = self._file(policy.name, policy.version)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".partial")
            tmp.write_bytes(data)
            # Loaded from the store, the copy must be the same policy (a preset found
            # next to the draft but not next to the store would change it).
            try:
                stored_version = load_policy(tmp).version
            except ValueError as exc:
                stored_version = f"an error ({exc})"
            if stored_version != policy.version:
                tmp.unlink()
                raise PolicyStoreError(
                    f"{policy.version} loads as {stored_version} from the store "
                    f"{self.root} (does it name a regulatory preset kept next to the draft?)"
                )
            tmp.chmod(0o444)  # a reminder, not a guarantee: `verify` is the real check
            tmp.replace(target)
            self._append(
                {
                    "event": "published",
                    "name": policy.name,
                    "release": policy.release,
                    "version": policy.version,
                    "content_hash": digest,
                    "at": at.isoformat(),
                    "by": by,
                    "note": note,
                }
            )
        return self.entry(policy.version), True

    def list(self) -> list[Published]:
        """Every publication, oldest first."""
        return self._published()

    def entry(self, ref: str) -> Published:
        """The publication ``ref`` names: ``name@release+hash8``, ``name@release`` or
        ``name`` (its current policy)."""
        entries = self._published()
        for p in reversed(entries):  # newest first, so a bare name gives the current one
            if ref in (p.version, f"{p.name}@{p.release}") or (ref == p.name and p.current):
                return p
        known = ", ".join(p.version for p in entries) or "none"
        raise PolicyStoreError(
            f"policy {ref!r} is not published in {self.root} (published: {known})"
        )

    def get(self, ref: str) -> Path:
        """Path of the stored YAML for ``ref`` (for commands that take a policy)."""
        p = self.entry(ref)
        return self._file(p.name, p.version)

    def load(self, ref: str) -> Policy:
        """The published policy, checked against its logged hash and version before use."""
        p = self.entry(ref)
        self._check(p)
        return self._loaded(p)

    def _loaded(self, p: Published) -> Policy:
        policy = load_policy(self._file(p.name, p.version))
        # Same bytes can still load differently if something outside the file changed,
        # e.g. a named regulatory preset: decisions would then record an unknown version.
        if policy.version != p.version:
            raise PolicyStoreError(
                f"{p.version}: stored file now loads as {policy.version} (a regulatory "
                "preset or the reason catalogue it uses has changed since publishing)"
            )
        return policy

    def _check(self, p: Published) -> None:
        path = self._file(p.name, p.version)
        if not path.is_file():
            raise PolicyStoreError(f"{p.version}: stored file {path} is missing")
        if sha256_bytes(path.read_bytes()) != p.content_hash:
            raise PolicyStoreError(
                f"{p.version}: stored file {path} does not match its published hash "
                f"{p.content_hash[:12]} (edited after publishing?)"
            )

    def verify(self) -> int:
        """Check every stored file against the hash and version logged at publication.

        Returns the number of policies checked; raises :class:`PolicyStoreError`
        naming the first one that is missing, changed, or now loads as another version.
        """
        entries = self._published()
        for p in entries:
            self._check(p)
            self._loaded(p)
        return len(entries)
