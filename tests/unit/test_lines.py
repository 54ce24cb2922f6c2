"""Each GH Archive defect sorted into events and dead letters: valid + dead == lines."""

from __future__ import annotations

from collections import Counter

import orjson
from clickhouse_cityhash.cityhash import CityHash64

from ghlake.events.identity import EventIdentity
from ghlake.sources.lines import LineOutcome, classify_lines

A = b'{"id":"1","type":"WatchEvent","actor":{"id":1,"login":"a"},"repo":{"id":7,"name":"o/r"},"payload":{},"public":true,"created_at":"2017-11-08T01:00:00Z"}'  # noqa: E501
B = b'{"id":"2","type":"ForkEvent","actor":{"id":2,"login":"b"},"repo":{"id":8,"name":"o/s"},"payload":{},"public":true,"created_at":"2017-11-08T01:00:01Z"}'  # noqa: E501
TIMELINE = b'{"type":"FollowEvent","actor":"bob","payload":{},"public":true,"created_at":"2012-06-14T15:01:39-07:00","url":"x"}'  # noqa: E501


def _kinds(outcomes: list[LineOutcome]) -> Counter[str]:
    return Counter(o.kind for o in outcomes)


def _invariant(outcomes: list[LineOutcome], lines: int) -> None:
    firsts = [o for o in outcomes if o.part == 0]
    assert len(firsts) == lines, "one first outcome per line"
    assert sum(o.kind == "valid" for o in firsts) + sum(o.kind == "dead" for o in firsts) == lines


def test_clean_lines_are_valid_with_the_repository_id_as_key() -> None:
    out = list(classify_lines([A, B]))
    assert [(o.line, o.kind, o.key) for o in out] == [(1, "valid", b"7"), (2, "valid", b"8")]
    assert out[0].value == A, "published unchanged"


def test_nul_padding_and_empty_lines_are_dead_letters_and_padding_is_stripped() -> None:
    out = list(classify_lines([b"\x00" * 4096, b"\x00\x00" + A, b"", B + b"\x00"]))
    assert [(o.kind, o.reason) for o in out] == [
        ("dead", "NUL padding"), ("valid", ""), ("dead", "empty line"), ("valid", ""),
    ]  # fmt: skip
    assert out[1].value == A
    assert out[3].value == B
    _invariant(out, 4)


def test_broken_json_is_a_dead_letter_with_the_reason() -> None:
    [out] = list(classify_lines([b'{"id":"3","type":"PushEvent","payload":{"x":']))
    assert out.kind == "dead"
    assert out.reason.startswith("not JSON")


def test_unterminated_string_merging_two_events_recovers_the_second() -> None:
    merged = A[:60] + B  # A's string never ends; B follows on the same line
    out = list(classify_lines([merged, A]))
    assert [(o.line, o.part, o.kind) for o in out] == [
        (1, 0, "dead"), (1, 1, "recovered"), (2, 0, "valid"),
    ]  # fmt: skip
    assert out[0].value == A[:60]
    assert "recovered" in out[0].reason
    assert out[1].value == B
    _invariant(out, 2)


def test_duplicates_go_to_the_dead_letter_topic_naming_the_first() -> None:
    out = list(classify_lines([A, B, A, TIMELINE, TIMELINE]))
    assert _kinds(out) == {"valid": 3, "dead": 2}
    assert out[2].reason == "duplicate of line 1"
    assert out[4].reason == "duplicate of line 4", "id-less events: identical line = same event"
    _invariant(out, 5)


def test_same_id_other_created_at_is_another_event() -> None:
    later = A.replace(b"2017-11-08T01:00:00Z", b"2026-08-08T01:00:00Z")
    assert _kinds(list(classify_lines([A, later]))) == {"valid": 2}


def test_an_unreadable_created_at_is_published_as_before_and_identified_by_its_bytes() -> None:
    # The classifier checks only that created_at is a string of 19 characters or more; the
    # lake writer dead-letters the line with the reason. Nothing published before is a
    # dead letter now: only an identical repeat is.
    odd_a = A.replace(b"2017-11-08T01:00:00Z", b"the eighth of November")
    odd_b = B.replace(b"2017-11-08T01:00:01Z", b"the eighth of November")
    out = list(classify_lines([odd_a, odd_b, odd_a]))
    assert [(o.kind, o.reason) for o in out] == [
        ("valid", ""), ("valid", ""), ("dead", "duplicate of line 1"),
    ]  # fmt: skip
    assert out[0].created_at == "the eighth of November"
    assert EventIdentity.of_event(orjson.loads(odd_a), odd_a) == (CityHash64(odd_a), 0)


def test_an_id_of_zero_is_no_id_and_the_line_is_the_identity() -> None:
    # As in the lake's event_key: id 0 counts as none, so the line's hash keys the event.
    zero = A.replace(b'"id":"1"', b'"id":"0"')
    other = zero.replace(b'"login":"a"', b'"login":"z"')
    out = list(classify_lines([zero, other, zero]))
    assert [o.kind for o in out] == ["valid", "valid", "dead"]
    assert out[2].reason == "duplicate of line 1"


def test_a_recovered_tail_is_a_duplicate_of_the_same_event_seen_whole() -> None:
    merged = A[:60] + TIMELINE  # the tail is keyed by its own bytes, as the lake keys it
    out = list(classify_lines([TIMELINE, merged]))
    assert [(o.line, o.part, o.kind) for o in out] == [
        (1, 0, "valid"),
        (2, 0, "dead"),
        (2, 1, "dead"),
    ]
    assert out[2].reason == "duplicate of line 1"
    _invariant(out, 2)


def test_unknown_shapes_are_dead_letters() -> None:
    out = list(classify_lines([b"[]", b'{"hello":"world"}', b"<?xml version='1.0'?><Error/>"]))
    assert _kinds(out) == {"dead": 3}
    assert [o.message_id for o in out] == ["1.0", "2.0", "3.0"]


def test_pacer_spaces_events_by_created_at_times_speed() -> None:
    from ghlake.ingest.replay import Pacer  # noqa: PLC0415

    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(speed=60, clock=lambda: now[0], sleep=sleep)
    stamps = ["2016-01-01T00:00:00Z", "2016-01-01T00:01:00Z", "2016-01-01T00:01:00Z",
              "2016-01-01T00:03:00Z", "2012/03/24 00:00:04 -0700", "soon"]  # fmt: skip
    for stamp in stamps:
        pacer(LineOutcome(1, "valid", b"{}", created_at=stamp))
    assert slept == [1.0, 2.0], (
        "a minute of events per second at 60x; late or odd stamps do not wait"
    )


def test_events_without_a_repository_are_keyed_by_their_identity() -> None:
    """Copies of a repository-less event must share a partition (one lake writer drops the
    second); a null key would send each copy to a random one."""
    gist = b'{"id":"99","type":"GistEvent","created_at":"2015-01-01T00:00:00Z","payload":{}}'
    follow = (
        b'{"type":"FollowEvent","actor":"a","payload":{"target":{"login":"b"}},'
        b'"created_at":"2012-06-14T15:01:39-07:00"}'
    )
    first = list(classify_lines([gist, follow]))
    again = list(classify_lines([follow, gist]))
    assert first[0].key == again[1].key == b"event:99"
    assert first[1].key == again[0].key == f"event:{CityHash64(follow)}".encode()
