"""genai_messages: message text is never lost, whatever it looks like."""

from __future__ import annotations

import orjson
import pytest

from annotrace.collector.pipeline.processors.genai_messages import content_parts, event_chat_message


@pytest.mark.parametrize(
    "text",
    [
        '{"temp_c": 18}',
        "[1, 2]",
        '["a", "b"]',
        "42",
        "null",
        '"quoted"',
        "[]",
        "{}",
        "[not json",
    ],
)
def test_a_legacy_tool_message_whose_text_is_json_keeps_its_text(text):
    got = event_chat_message("gen_ai.tool.message", {"content": text, "id": "call_1"})
    assert got is not None
    direction, (role, content, calls, raw) = got
    assert (direction, role, content, calls) == ("input", "tool", text, None)
    assert orjson.loads(raw) == {"content": text, "id": "call_1"}  # the id is not in a column


@pytest.mark.parametrize("name", ["gen_ai.user.message", "gen_ai.system.message", "gen_ai.assistant.message"])
def test_any_message_event_keeps_json_looking_text(name):
    text = '{"content": "not a nested message"}'
    _, (_, content, _, raw) = event_chat_message(name, {"content": text})
    assert (content, raw) == (text, None)  # role + text say it all


def test_a_choice_whose_message_text_is_json_keeps_it():
    body = {"index": 0, "finish_reason": "stop", "message": '{"role": "assistant", "content": "{\\"a\\": 1}"}'}
    _, (role, content, _, raw) = event_chat_message("gen_ai.choice", body)
    assert (role, content) == ("assistant", '{"a": 1}')
    assert orjson.loads(raw) == body


def test_content_sent_as_json_text_of_parts_is_read_as_parts_and_kept_raw():
    parts = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]
    body = {"content": orjson.dumps(parts).decode()}
    _, (_, content, _, raw) = event_chat_message("gen_ai.user.message", body)
    assert content == "What is this?"
    assert orjson.loads(raw) == body  # the image part is only in raw


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ('[{"type": "text", "text": "hi"}]', True),
        ('[{"text": "no type"}]', False),
        ("[1, 2]", False),
        ('["a"]', False),
        ("[]", False),
        ('{"type": "text"}', False),
        ("plain", False),
        (None, False),
    ],
)
def test_content_parts_only_decodes_typed_part_lists(value, parts):
    got = content_parts(value)
    assert (got != value) is parts
