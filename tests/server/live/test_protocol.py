"""Client message parsing (errors say what to fix and quote what was received) and encoding."""

from __future__ import annotations

import json
import math

import pytest

from fitwatch_server import schemas
from fitwatch_server.live import protocol


def test_subscribe_with_resume_cursors_parses() -> None:
    message = protocol.parse_client_message(json.dumps({
        "type": "subscribe", "runs": ["a1"], "projects": ["digits"],
        "resume": {"a1": [{"key": "loss", "scope": "batch", "last_step": 9}]},
    }))
    assert isinstance(message, protocol.Subscribe)
    assert message.resume["a1"][0].scope is schemas.Scope.batch and message.resume["a1"][0].last_step == 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{", "a message must be a JSON object"),
        ('"subscribe"', "Received a str"),
        ('{"runs": []}', "Received: type=None"),
        ('{"type": "subscribe", "runs": "a1"}', "'runs' must be a list of run ids"),
        ('{"type": "subscribe", "projects": [""]}', "'projects' must be a list of project names"),
        ('{"type": "subscribe", "resume": {"a1": {"key": "loss"}}}', "'resume' maps run ids to cursors"),
        ('{"type": "subscribe", "runs": ["a/b"]}', "Received: 'a/b'"),
        ('{"type": "ping", "extra": true}', "extra"),
    ],
)
def test_malformed_messages_raise_errors_that_quote_them(text: str, expected: str) -> None:
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_client_message(text)
    assert expected in caught.value.detail
    assert caught.value.received == text


def test_quotes_are_cut_to_a_readable_length() -> None:
    text = json.dumps({"type": "subscribe", "runs": "x" * 5000})
    with pytest.raises(protocol.ProtocolError) as caught:
        protocol.parse_client_message(text)
    assert caught.value.received == text[: protocol.QUOTE_CHARS]


def test_too_many_runs_are_refused() -> None:
    text = json.dumps({"type": "subscribe", "runs": [f"r{i}" for i in range(protocol.MAX_RUNS + 1)]})
    with pytest.raises(protocol.ProtocolError, match="at most 1000 items"):
        protocol.parse_client_message(text)


def test_points_encode_non_finite_values_like_rest() -> None:
    message = protocol.Points(
        run_id="a1", key="loss", scope=schemas.Scope.epoch, steps=[0, 1, 2],
        values=[math.nan, math.inf, -math.inf], times=[1.0, 2.0, 3.0], epochs=None,
    )
    assert json.loads(protocol.encode(message)) == {
        "type": "points", "run_id": "a1", "key": "loss", "scope": "epoch", "steps": [0, 1, 2],
        "values": ["NaN", "Infinity", "-Infinity"], "times": [1.0, 2.0, 3.0], "epochs": None,
        "replay": False,
    }


@pytest.mark.parametrize("has_epochs", [True, False])
@pytest.mark.parametrize("replay", [True, False])
def test_the_hubs_points_messages_are_what_the_points_model_encodes(has_epochs: bool, replay: bool) -> None:
    from fitwatch_server.live.hub import MAX_POINTS_PER_MESSAGE, points_messages

    values = [0.5, math.nan, math.inf, -math.inf, -0.0, 1e-300, 1.7e308, 3.0]
    rows = [(s, values[s % len(values)], 1_732_354_900.0 + s / 20, s // 10) for s in range(MAX_POINTS_PER_MESSAGE + 7)]
    texts = points_messages("a1", "val_loss", "batch", rows, has_epochs=has_epochs, replay_=replay)
    chunks = [rows[:MAX_POINTS_PER_MESSAGE], rows[MAX_POINTS_PER_MESSAGE:]]
    assert len(texts) == len(chunks)
    for text, chunk in zip(texts, chunks, strict=True):
        model = protocol.Points(
            run_id="a1", key="val_loss", scope=schemas.Scope.batch, steps=[r[0] for r in chunk],
            values=[r[1] for r in chunk], times=[r[2] for r in chunk],
            epochs=[r[3] for r in chunk] if has_epochs else None, replay=replay,
        )
        fast, reference = json.loads(text), json.loads(protocol.encode(model))
        assert fast == reference
        assert list(fast) == list(reference)  # the same fields in the same order
        assert [math.copysign(1, v) for v in fast["values"] if v == 0] == [-1.0] * sum(1 for r in chunk if r[1] == 0)
