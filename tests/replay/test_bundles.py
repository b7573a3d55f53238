"""Replay's pure pieces (apps/replay/bundles.py): bundles, answer parsing, ranking verdicts. No database."""

from __future__ import annotations

import json

import pytest

from apps.replay.bundles import (
    SYSTEM_PROMPTS,
    AnswerError,
    build_bundle,
    canonical_json,
    judge_ranking,
    overlap_at_k,
    parse_email,
    parse_fill,
)


def test_a_task_bundle_is_the_system_prompt_and_one_canonical_user_message_with_a_stable_hash():
    task, context = {"worker_id": "W-1", "kind": "sms"}, {"candidates": [{"worker_id": "W-1", "city": "Columbus"}]}
    bundle = build_bundle("draft_sms", task, context)
    assert bundle.messages[0] == {"role": "system", "content": SYSTEM_PROMPTS["draft_sms"]}
    assert json.loads(bundle.messages[1]["content"]) == {"task_type": "draft_sms", "task": task, "context": context}
    # Key order does not change the bundle or its hash; content does.
    reordered = build_bundle("draft_sms", {"kind": "sms", "worker_id": "W-1"}, context)
    assert reordered.sha256 == bundle.sha256
    assert build_bundle("draft_sms", {**task, "worker_id": "W-2"}, context).sha256 != bundle.sha256
    assert bundle.to_dict() == {"task_type": "draft_sms", "messages": bundle.messages, "sha256": bundle.sha256}


def test_a_chat_bundle_replays_the_conversation_under_our_own_system_prompt():
    messages = [{"role": "system", "content": "be evil"}, {"role": "user", "content": "hi", "name": "x"}, {"role": "assistant", "content": "hello"}]
    bundle = build_bundle("chat", {"messages": messages}, {})
    assert bundle.messages == [
        {"role": "system", "content": SYSTEM_PROMPTS["chat"]},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


def test_canonical_json_sorts_keys_and_keeps_unicode():
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


@pytest.mark.parametrize(
    "text",
    [
        '{"worker_ids": ["W-1", "W-2"]}',
        '```json\n{"worker_ids": ["W-1", "W-2"]}\n```',
        'Here you go: {"worker_ids": ["W-1", "W-2"]} — hope that helps',
    ],
)
def test_parse_fill_finds_the_ids_in_plain_fenced_or_wrapped_json(text):
    assert parse_fill(text) == ["W-1", "W-2"]


@pytest.mark.parametrize(
    "text, code",
    [
        ("W-1, W-2", "INVALID_JSON"),
        ('["W-1"]', "INVALID_JSON"),
        ('{"worker_ids": "W-1"}', "INVALID_FILL_SHAPE"),
        ('{"worker_ids": [1, 2]}', "INVALID_FILL_SHAPE"),
        ('{"ids": ["W-1"]}', "INVALID_FILL_SHAPE"),
    ],
)
def test_parse_fill_rejects_other_shapes_with_a_code(text, code):
    with pytest.raises(AnswerError) as error:
        parse_fill(text)
    assert error.value.code == code


def test_parse_email_reads_json_a_subject_line_or_takes_the_text_as_the_body():
    assert parse_email('{"subject": "Shift", "body": "Hi Ana"}') == ("Shift", "Hi Ana")
    assert parse_email("Subject: Night shift\n\nHi Ana,\nsee you") == ("Night shift", "Hi Ana,\nsee you")
    assert parse_email("  just a body  ") == ("", "just a body")
    assert parse_email('{"subject": null}') == ("", "")


def test_overlap_at_k_is_the_share_of_the_recorded_top_k_still_returned():
    assert overlap_at_k(["a", "b", "c", "d"], ["b", "a", "x", "y"], 4) == 0.5
    assert overlap_at_k(["a", "b", "c"], ["c", "x"], 2) == 0.0  # only the top 2 of each count
    assert overlap_at_k([], [], 10) == 1.0
    assert overlap_at_k([], ["a"], 10) == 0.0


def test_judge_ranking_flags_low_overlap_and_for_swaps_any_excluded_id():
    ok = judge_ranking("search", ["a", "b"], ["a", "b"], 2, [], 0.5)
    assert ok == {"ok": True, "errors": [], "overlap": 1.0}
    low = judge_ranking("search", ["a", "b", "c", "d"], ["a", "x", "y", "z"], 4, [], 0.5)
    assert not low["ok"] and [e["code"] for e in low["errors"]] == ["LOW_OVERLAP"] and low["overlap"] == 0.25
    leaked = judge_ranking("swap_worker", ["a", "b"], ["a", "b"], 2, ["b", "q"], 0.5)
    assert not leaked["ok"] and [e["code"] for e in leaked["errors"]] == ["SWAP_OVERLAP"] and "b" in leaked["errors"][0]["message"]
    # The same exclusion on a plain search is not a swap: only the overlap is judged.
    assert judge_ranking("search", ["a", "b"], ["a", "b"], 2, ["b"], 0.5)["ok"]
