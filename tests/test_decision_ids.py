"""Decision ids are UUIDv7: creation order is id order, so inserts append to the index."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from clearline.store import decisions


def test_an_id_is_d_dash_and_a_version_7_uuid_in_hex() -> None:
    decision_id = decisions.new_id()
    assert re.fullmatch(r"d-[0-9a-f]{32}", decision_id)
    parsed = uuid.UUID(decision_id[2:])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_the_first_48_bits_are_the_creation_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    ms = 1_764_000_000_123
    monkeypatch.setattr(time, "time_ns", lambda: ms * 1_000_000 + 999_999)
    assert int(decisions.new_id()[2:14], 16) == ms


def test_ids_made_later_sort_later(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(1_764_000_000_000, 1_764_000_001_000))
    monkeypatch.setattr(time, "time_ns", lambda: next(clock) * 1_000_000)
    made = [decisions.new_id() for _ in range(1000)]
    assert made == sorted(made)


def test_ids_made_in_the_same_millisecond_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time_ns", lambda: 1_764_000_000_000_000_000)
    made = [decisions.new_id() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    assert len({m[:14] for m in made}) == 1
