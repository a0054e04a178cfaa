"""Composite rules: CloudWatch's AlarmRule syntax read, judged over states, and cycles found (pure, no server)."""

from __future__ import annotations

import pytest

from services.alarm import composite
from services.alarm.composite import All, Any_, Constant, ExpressionError, Not, StateOf, find_cycle, judge, parse, references
from services.alarm.domain import AlarmState

ALARM, OK, INSUFFICIENT = AlarmState.ALARM, AlarmState.OK, AlarmState.INSUFFICIENT_DATA


@pytest.mark.parametrize(
    ("expression", "tree"),
    [
        ("ALARM(cpu-high)", StateOf(ALARM, "cpu-high")),
        ('OK("cpu-high")', StateOf(OK, "cpu-high")),
        ("INSUFFICIENT_DATA(alarms/cpu-high)", StateOf(INSUFFICIENT, "cpu-high")),
        ("TRUE", Constant(True)),
        ("false", Constant(False)),
        # CloudWatch's documented examples, with our ids.
        ("ALARM(cpu-too-high) AND ALARM(disk-read-ops-too-high)",
         All((StateOf(ALARM, "cpu-too-high"), StateOf(ALARM, "disk-read-ops-too-high")))),
        ("ALARM(cpu-too-high) AND NOT ALARM(deployment-in-progress)",
         All((StateOf(ALARM, "cpu-too-high"), Not(StateOf(ALARM, "deployment-in-progress"))))),
        ("(ALARM(a) OR ALARM(b)) AND OK(c)", All((Any_((StateOf(ALARM, "a"), StateOf(ALARM, "b"))), StateOf(OK, "c")))),
        # NOT binds tightest, then AND, then OR.
        ("ALARM(a) OR ALARM(b) AND NOT OK(c)", Any_((StateOf(ALARM, "a"), All((StateOf(ALARM, "b"), Not(StateOf(OK, "c"))))))),
        ("not not alarm(a)", Not(Not(StateOf(ALARM, "a")))),
        ("  ALARM( a )\n\tor\nALARM(b)  ", Any_((StateOf(ALARM, "a"), StateOf(ALARM, "b")))),
    ],
)
def test_cloudwatchs_syntax_is_read_with_not_then_and_then_or(expression, tree):
    assert parse(expression) == tree


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("", "is required"),
        ("   ", "is required"),
        ("ALARM(a) AND", "at 12, found the end"),
        ("ALARM(a) ALARM(b)", "expects AND, OR or the end at 9"),
        ("ALARM(a", "closing parenthesis after the alarm id of ALARM at 7"),
        ("(ALARM(a)", "closing parenthesis at 9"),
        ("ALARM(a))", "expects AND, OR or the end at 8"),
        ("ALARM()", "needs an alarm id"),
        ("ALARM(Not_An_Id)", "which is no alarm id"),
        ('ALARM("a)', "unclosed double quote"),
        ("CPU(a)", "found 'CPU'"),
        ("ALARM a", "opening parenthesis after ALARM"),
        ("x" * 10241, "at most 10240 characters"),
        ("(" * 40 + "TRUE" + ")" * 40, "at most 32 deep"),
        ("NOT " * 40 + "TRUE", "at most 32 deep"),
        (" OR ".join(f"ALARM(a{n})" for n in range(101)), "at most 100 alarms"),
    ],
)
def test_an_unreadable_expression_says_where_and_why(expression, says):
    with pytest.raises(ExpressionError, match=None) as raised:
        parse(expression)
    assert says in str(raised.value)


def test_a_deep_expression_is_refused_before_recursion_runs_out():
    with pytest.raises(ExpressionError):
        parse("(" * 10_000)


def test_references_are_the_alarms_named_once_each():
    assert references(parse("ALARM(a) AND (OK(b) OR NOT ALARM(a)) OR TRUE")) == {"a", "b"}


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({"cpu": ALARM, "deploying": OK}, ALARM),
        ({"cpu": ALARM, "deploying": ALARM}, OK),
        ({"cpu": OK, "deploying": OK}, OK),
        ({"cpu": ALARM, "deploying": INSUFFICIENT}, ALARM),
        ({"cpu": INSUFFICIENT}, OK),  # deploying missing: INSUFFICIENT_DATA, NOT ALARM(...) is true; cpu is not in ALARM
    ],
)
def test_the_composite_is_in_alarm_exactly_while_its_expression_holds(states, expected):
    state, _, _ = judge("ALARM(cpu) AND NOT ALARM(deploying)", states)
    assert state is expected


def test_the_reason_shows_the_expression_and_each_named_alarms_state():
    state, reason, named = judge("ALARM(cpu)  AND\nNOT ALARM(deploying)", {"cpu": ALARM, "deploying": OK})
    assert state is ALARM
    assert reason == "ALARM(cpu) AND NOT ALARM(deploying) is true: alarms/cpu alarm, alarms/deploying ok"
    assert named == {"cpu": "alarm", "deploying": "ok"}
    assert judge("FALSE", {})[1] == "FALSE is false: no alarms named"


def test_cycles_are_found_through_any_number_of_composites():
    rules = {"a": {"b"}, "b": {"c", "x"}, "c": {"a"}, "x": set()}
    assert find_cycle("a", lambda alarm_id: rules.get(alarm_id, set())) == ["a", "b", "c", "a"]
    assert find_cycle("a", lambda alarm_id: {"a"} if alarm_id == "a" else set()) == ["a", "a"]
    diamond = {"top": {"left", "right"}, "left": {"bottom"}, "right": {"bottom"}, "bottom": set()}
    assert find_cycle("top", lambda alarm_id: diamond[alarm_id]) is None


def test_limits_are_cloudwatchs_length_and_ours():
    assert (composite.MAX_EXPRESSION_LENGTH, composite.MAX_REFERENCES, composite.MAX_NESTING) == (10240, 100, 32)


def test_an_alarm_id_with_a_trailing_line_feed_is_refused():
    with pytest.raises(ExpressionError, match="no alarm id"):
        parse('ALARM("abc\n")')
