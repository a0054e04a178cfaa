"""Alarms over external stores, without a store: Prometheus's answers read, the window, the decisions and their errors."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from typing import Any

import pytest

from services.alarm.action_runners import ActionRequest
from services.alarm.decision import Decision, decide, decide_unavailable
from services.alarm.domain import Alarm, AlarmState, ComparisonOperator, PendingAction, PrometheusRule, StoreRule
from services.alarm.evaluation import Datapoint, evaluate_store_rule, judge_periods, store_window
from services.alarm.store_evaluator import StoreEvaluator
from services.alarm.stores import StoreError
from services.alarm.stores.prometheus import PrometheusStore, read_query_range
from services.alarm.webhook_delivery import webhook_body

OK, ALARM, INSUFFICIENT = AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA
NOW = 1_000_030.5  # not aligned to the period: a store's window starts wherever now is


def rule(query: str = "avg(test_load)", evaluation_periods: int = 3, period: float = 60.0) -> PrometheusRule:
    return PrometheusRule(query, ComparisonOperator.GREATER_THAN, 80.0, period, evaluation_periods)


def matrix(*series: list[tuple[float, str]], status: str = "success") -> bytes:
    result = [
        {"metric": {"shard": str(number)}, "values": [[time, value] for time, value in values]} for number, values in enumerate(series)
    ]
    return json.dumps({"status": status, "data": {"resultType": "matrix", "result": result}}).encode()


def instants(*values: float | None, period: float = 60.0, now: float = NOW) -> list[Datapoint]:
    """Datapoints as a store answers them for the instants now - (n-1) * period ... now; None leaves an instant without one."""
    count = len(values)
    return [
        Datapoint(now - (count - 1 - position) * period - period, value, 1) for position, value in enumerate(values) if value is not None
    ]


# Prometheus's answers


def test_one_series_becomes_one_datapoint_per_instant_starting_a_period_before_it():
    answer = matrix([(1000.0, "1.5"), (1060.0, "2"), (1120.0, "+Inf")])
    assert read_query_range(200, answer, 60.0) == [Datapoint(940.0, 1.5, 1), Datapoint(1000.0, 2.0, 1), Datapoint(1060.0, math.inf, 1)]


def test_no_series_is_no_datapoint():
    assert read_query_range(200, matrix(), 60.0) == []


def test_instants_whose_value_is_nan_are_left_out():
    assert read_query_range(200, matrix([(1000.0, "NaN"), (1060.0, "3")]), 60.0) == [Datapoint(1000.0, 3.0, 1)]


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, matrix([(1.0, "1")], [(1.0, "2")]), 'the query returned 2 series ({shard="0"}, {shard="1"}); it must aggregate to one '
                                                  "series, e.g. wrap it in sum() or avg()"),
        (400, b'{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}',
         "Prometheus refused the query: bad_data: 1:5: parse error: unclosed left parenthesis"),
        (422, b'{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}',
         "Prometheus refused the query: execution: many-to-many matching not allowed"),
        (502, b"<html>Bad Gateway</html>", "Prometheus answered HTTP 502 with no JSON: '<html>Bad Gateway</html>'"),
        (401, b'{"message": "unauthorized"}', "Prometheus answered HTTP 401, status None"),
        (200, b"[]", "Prometheus answered HTTP 200 with JSON that is no object"),
        (200, b'{"status":"success","data":{"resultType":"vector","result":[]}}',
         "Prometheus answered a 'vector', not a matrix: the query must be an instant vector"),
        (200, b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[["x"]]}]}}',
         'Prometheus answered values that are not [time, "number"] pairs'),
        (200, matrix([(1.0, "NaN"), (2.0, "NaN")]), "the query's value is NaN at each of its 2 instants (e.g. a division by zero)"),
    ],
)
def test_what_cannot_be_judged_is_a_store_error_saying_why(status, body, reason):
    with pytest.raises(StoreError) as raised:
        read_query_range(status, body, 60.0)
    assert str(raised.value) == reason


def test_a_long_answer_is_cut_in_the_reason():
    with pytest.raises(StoreError) as raised:
        read_query_range(500, b'{"status":"error","error":"' + b"x" * 5000 + b'"}', 60.0)
    assert len(str(raised.value)) == 512 and str(raised.value).endswith("…")


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_named():
    store = PrometheusStore("http://user:secret@127.0.0.1:1/prom/")
    assert store.url == "http://127.0.0.1:1/prom"
    with pytest.raises(StoreError) as raised:
        store.datapoints(rule(), NOW - 180, NOW)
    assert "secret" not in str(raised.value) and "cannot be reached" in str(raised.value)


# The window and the decision maths


def test_the_window_spans_evaluation_periods_back_from_now():
    assert store_window(rule(evaluation_periods=3), NOW) == (NOW - 180.0, NOW)


@pytest.mark.parametrize(
    ("current", "values", "expected"),
    [
        (INSUFFICIENT, (70, 90, 91, 92), ALARM),  # the newest 3 of the 4 instants decide
        (ALARM, (90, 10, 20, 30), OK),
        (OK, (10, 90, 20, 92), OK),  # mixed: the state stays
        (INSUFFICIENT, (10, 90, 20, 92), ALARM),  # mixed from insufficient data: the newest period's side
        (OK, (90, 91, 92, None), ALARM),  # the newest instant without a value: the one before the window stands in
        (OK, (None, 91, None, 92), INSUFFICIENT),
        (OK, (), INSUFFICIENT),
    ],
)
def test_a_store_rule_is_judged_as_a_threshold_rule_over_its_instants(current, values, expected):
    assert evaluate_store_rule(rule(), current, instants(*values), NOW).state is expected


def test_the_reasons_are_those_of_the_threshold_rule_with_the_query():
    assert evaluate_store_rule(rule(), OK, instants(90, 91, 92), NOW).reason == (
        "avg(test_load) > 80 in the last 3 periods of 60s: 90, 91, 92 (newest last)"
    )
    assert evaluate_store_rule(rule(), OK, instants(91), NOW).reason == "1 of the 3 periods of 60s needed have datapoints of avg(test_load)"
    # The very decision of the shared core, fed the same periods.
    assert evaluate_store_rule(rule(), OK, instants(90, 91, 92), NOW) == judge_periods(rule(), OK, instants(90, 91, 92))


def test_instants_outside_the_window_do_not_count_and_milliseconds_of_rounding_do_not_matter():
    rounded = [Datapoint(d.start - 0.0004, d.value, 1) for d in instants(90, 91, 92)]
    assert evaluate_store_rule(rule(), OK, rounded, NOW).state is ALARM
    too_old = instants(90, 91, 92, None, None, now=NOW)
    assert evaluate_store_rule(rule(evaluation_periods=2), OK, too_old, NOW).state is INSUFFICIENT


def test_a_multi_line_query_is_described_on_one_line():
    assert rule("sum(\n  rate(x[1m])\n)").describe() == "sum( rate(x[1m]) )"


# Decisions


ALARM_OVER_PROMETHEUS = Alarm(id="load", rule=rule(), alarm_actions=("policies/out",), project="p1", state=OK, state_time=NOW - 30)


def test_a_store_that_cannot_answer_moves_the_alarm_to_insufficient_data_with_the_reason():
    decision = decide_unavailable(ALARM_OVER_PROMETHEUS, "Prometheus at http://p:9090 cannot be reached: refused", NOW)
    assert decision.moves and decision.evaluation.state is INSUFFICIENT
    assert decision.evaluation.reason == "Prometheus at http://p:9090 cannot be reached: refused"
    assert decision.evaluation.reason_data["type"] == "prometheus"


def test_staying_in_insufficient_data_for_another_reason_restates_it_without_actions():
    waiting = replace(
        ALARM_OVER_PROMETHEUS, state=INSUFFICIENT, state_reason="Not evaluated yet", insufficient_data_actions=("policies/x",)
    )
    decision = decide_unavailable(waiting, "Prometheus refused the query: bad_data: parse error", NOW)
    assert (decision.moves, decision.restates, decision.actions) == (False, True, ())
    same = replace(waiting, state_reason="Prometheus refused the query: bad_data: parse error")
    assert not decide_unavailable(same, same.state_reason, NOW).restates
    assert decide(waiting, [], NOW).restates  # no datapoints: "0 of the 3 periods ..." is another reason too


# The evaluator of alarms over stores


class FakeStore:
    name = "Prometheus"

    def __init__(self, answer: Any = (), *, gate: threading.Event | None = None) -> None:
        self.answer = answer
        self.asked: list[tuple[StoreRule, float, float]] = []
        self.gate = gate
        self.lock = threading.Lock()

    def datapoints(self, rule: StoreRule, start: float, end: float) -> list[Datapoint]:
        with self.lock:
            self.asked.append((rule, start, end))
        if self.gate is not None:
            self.gate.wait(5)
        if isinstance(self.answer, Exception):
            raise self.answer
        return list(self.answer)

    def close(self) -> None:
        pass


def evaluate(store: FakeStore | None, alarms: list[Alarm], concurrency: int = 4) -> list[Decision]:
    applied: list[Decision] = []
    evaluator = StoreEvaluator(
        {"prometheus": store} if store is not None else {}, lambda decisions, now: applied.extend(decisions), lambda: NOW,
        concurrency=concurrency,
    )
    try:
        assert evaluator.evaluate(alarms) == len(applied)
    finally:
        evaluator.stop()
    return applied


def test_each_alarm_is_decided_from_its_store_over_its_window():
    store = FakeStore(instants(90, 91, 92))
    (decision,) = evaluate(store, [ALARM_OVER_PROMETHEUS])
    assert decision.evaluation.state is ALARM and decision.moves
    assert store.asked == [(rule(), NOW - 180.0, NOW)]


def test_alarms_asking_the_same_query_share_one_call_whatever_their_thresholds():
    store = FakeStore(instants(90, 91, 92))
    low = replace(ALARM_OVER_PROMETHEUS, id="low", rule=replace(rule(), threshold=95.0))
    other = replace(ALARM_OVER_PROMETHEUS, id="other", rule=rule("max(test_load)"))
    decisions = evaluate(store, [ALARM_OVER_PROMETHEUS, low, other])
    assert [d.evaluation.state for d in decisions] == [ALARM, OK, ALARM]
    assert sorted(asked.query for asked, _, _ in store.asked) == ["avg(test_load)", "max(test_load)"]


def test_a_store_error_leaves_the_alarm_in_insufficient_data_with_its_reason():
    (decision,) = evaluate(FakeStore(StoreError("Prometheus refused the query: bad_data: parse error")), [ALARM_OVER_PROMETHEUS])
    assert decision.evaluation == (INSUFFICIENT, "Prometheus refused the query: bad_data: parse error",
                                   {"type": "prometheus", "error": "Prometheus refused the query: bad_data: parse error"})


def test_an_alarm_over_a_store_the_service_has_no_address_of_says_which_flag_is_missing():
    (decision,) = evaluate(None, [ALARM_OVER_PROMETHEUS])
    assert decision.evaluation.state is INSUFFICIENT and "--prometheus-url" in decision.evaluation.reason


def test_once_as_many_queries_in_a_row_as_run_at_once_timed_out_the_rest_of_the_pass_is_not_asked():
    store = FakeStore(StoreError("Prometheus at http://p did not answer within 5s", timed_out=True))
    alarms = [replace(ALARM_OVER_PROMETHEUS, id=f"a{n}", rule=rule(f"avg(x) + {n}")) for n in range(40)]
    decisions = evaluate(store, alarms, concurrency=4)
    assert len(decisions) == 40 and all(d.evaluation.state is INSUFFICIENT for d in decisions)
    assert len(store.asked) < 40  # (4 to 7: those already taken by the pool's threads when the fourth timed out)
    assert any("was not asked: its last 4 queries of this evaluation timed out" in d.evaluation.reason for d in decisions)


def test_queries_run_side_by_side_up_to_the_concurrency():
    gate = threading.Event()
    store = FakeStore(instants(90, 91, 92), gate=gate)
    alarms = [replace(ALARM_OVER_PROMETHEUS, id=f"a{n}", rule=rule(f"avg(x) + {n}")) for n in range(8)]
    done: list[list[Decision]] = []
    worker = threading.Thread(target=lambda: done.append(evaluate(store, alarms, concurrency=4)))
    worker.start()
    try:
        deadline = threading.Event()
        for _ in range(100):
            if len(store.asked) == 4:
                break
            deadline.wait(0.02)
        assert len(store.asked) == 4  # four asked at once, the others wait for a thread
    finally:
        gate.set()
        worker.join(10)
    assert len(done[0]) == 8


def test_a_webhook_of_an_alarm_over_prometheus_carries_its_rule_under_prometheus_rule():
    pending = PendingAction(1, "load", "https://hooks.example/x", OK, ALARM, "high", {}, NOW, False, project="p1")
    body = webhook_body(ActionRequest(ALARM_OVER_PROMETHEUS, pending))
    assert body["prometheus_rule"] == {
        "query": "avg(test_load)", "comparison_operator": ">", "threshold": 80.0, "period_seconds": 60.0, "evaluation_periods": 3,
    }
    assert "threshold_rule" not in body
