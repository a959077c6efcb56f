"""The policy store: immutable published files, an append-only log, refusals and verify."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_decide_support import BASELINE

from clearline.core.policy import PolicyError, load_policy
from clearline.store.policies import PolicyStore, PolicyStoreError

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def draft(tmp_path: Path, name: str = "draft.yaml", **replace: str) -> Path:
    """A copy of the baseline fixture with text replacements (an edited draft)."""
    text = BASELINE.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old  # the fixture still contains what the test edits
        text = text.replace(old, new)
    out = tmp_path / name
    out.write_text(text, encoding="utf-8")
    return out


def test_publishing_stores_a_byte_exact_copy_under_the_policy_version(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "store")
    entry, created = store.publish(BASELINE, at=AT, by="ana", note="first")
    version = load_policy(BASELINE).version
    assert created and entry.version == version and entry.current
    assert store.get(version) == tmp_path / "store" / "baseline" / f"{version}.yaml"
    assert store.get(version).read_bytes() == BASELINE.read_bytes()
    [event] = [json.loads(x) for x in (tmp_path / "store" / "log.jsonl").read_text().splitlines()]
    assert event["event"] == "published" and event["by"] == "ana" and event["note"] == "first"
    assert event["content_hash"] == hashlib.sha256(BASELINE.read_bytes()).hexdigest()
    assert event["at"] == AT.isoformat()


def test_a_published_policy_is_found_by_version_release_or_name(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path)
    entry, _ = store.publish(BASELINE, at=AT, by="ana")
    assert store.entry("baseline@1.0") == entry == store.entry("baseline")
    assert store.load(entry.version).version == entry.version
    with pytest.raises(PolicyStoreError, match="not published"):
        store.get("baseline@9.9")


def test_publishing_identical_content_again_is_a_no_op(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path)
    first, _ = store.publish(BASELINE, at=AT, by="ana")
    again, created = store.publish(draft(tmp_path / "..", "copy.yaml"), at=AT, by="bo")
    assert not created and again == first  # the first publisher stays on record
    assert len(store.list()) == 1
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1


def test_a_release_published_with_different_content_is_refused(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "s")
    store.publish(BASELINE, at=AT, by="ana")
    edited = draft(tmp_path, **{"min_score: 640": "min_score: 645"})
    with pytest.raises(PolicyStoreError, match=r"release 1\.0 of baseline .* bump `version`"):
        store.publish(edited, at=AT, by="bo")
    # Even a comment-only edit changes the bytes the decisions would point at.
    comment = draft(tmp_path, "c.yaml", **{"# Baseline": "# The baseline"})
    with pytest.raises(PolicyStoreError, match="different content"):
        store.publish(comment, at=AT, by="bo")
    assert [p.version for p in store.list()] == [load_policy(BASELINE).version]


def test_a_bumped_release_is_published_and_becomes_current(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "s")
    old, _ = store.publish(BASELINE, at=AT, by="ana")
    bumped = draft(tmp_path, **{'version: "1.0"': 'version: "1.1"', "value: 0.8}": "value: 0.7}"})
    new, created = store.publish(bumped, at=AT, by="bo")
    assert created and new.release == "1.1" and new.version != old.version
    listed = store.list()
    assert [(p.version, p.current) for p in listed] == [(old.version, False), (new.version, True)]
    assert store.entry("baseline") == new


def test_an_invalid_draft_is_not_published(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "s")
    bad = draft(tmp_path, **{"reason: IND_MULTI_LENDING": "reason: NO_SUCH_CODE"})
    with pytest.raises(PolicyError, match="NO_SUCH_CODE"):
        store.publish(bad, at=AT, by="ana")
    assert store.list() == [] and not (tmp_path / "s" / "baseline").exists()


def test_publishing_needs_a_name_for_the_record(tmp_path: Path) -> None:
    with pytest.raises(PolicyStoreError, match="--by"):
        PolicyStore(tmp_path).publish(BASELINE, at=AT, by="  ")


def test_verify_passes_on_an_untouched_store_and_names_an_edited_file(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "s")
    store.publish(BASELINE, at=AT, by="ana")
    bumped = draft(tmp_path, **{'version: "1.0"': 'version: "2.0"'})
    second, _ = store.publish(bumped, at=AT, by="ana")
    assert store.verify() == 2
    stored = store.get(second.version)
    stored.chmod(0o644)
    stored.write_text(stored.read_text().replace("value: 90", "value: 120"))
    with pytest.raises(PolicyStoreError, match=re.escape(second.version) + ".*does not match"):
        store.verify()
    with pytest.raises(PolicyStoreError, match="does not match"):
        store.load(second.version)  # an edited file is never used for decisions


def test_verify_names_a_missing_stored_file(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path)
    entry, _ = store.publish(BASELINE, at=AT, by="ana")
    store.get(entry.version).unlink()
    with pytest.raises(PolicyStoreError, match="missing"):
        store.verify()


def test_an_empty_store_lists_nothing_and_verifies_nothing(tmp_path: Path) -> None:
    store = PolicyStore(tmp_path / "nowhere")
    assert store.list() == [] and store.verify() == 0


def test_a_draft_whose_preset_the_store_cannot_see_is_refused(tmp_path: Path) -> None:
    # A preset kept next to the draft would be lost on publishing: the stored copy
    # would load as another policy, so the decisions' version would not be in the store.
    shipped = Path(__file__).resolve().parents[1] / "policies" / "presets"
    (tmp_path / "presets").mkdir()
    text = (shipped / "cn_internet_consumer.yaml").read_text(encoding="utf-8")
    text = text.replace("preset: cn_internet_consumer", "preset: local_only")
    (tmp_path / "presets" / "local_only.yaml").write_text(text, encoding="utf-8")
    policy = draft(tmp_path, **{"lgd: 0.45": "lgd: 0.45\nregulatory: local_only"})
    assert load_policy(policy).regulatory is not None  # valid where it was written
    store = PolicyStore(tmp_path / "store")
    with pytest.raises(PolicyStoreError, match="preset"):
        store.publish(policy, at=AT, by="ana")
    assert store.list() == []
