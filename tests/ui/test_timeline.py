"""Change points and the change they line up with; the SVG charts (pure)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from bot.ui.charts import scores_chart, time_chart
from bot.ui.timeline import Event, EventKind, Point, Series, Timeline, VersionScore, change_point, render_text, shifts, with_shifts

T0 = datetime(2026, 3, 1, 14, 0, tzinfo=timezone.utc)


def _series(values, metric="task_success", version="3f2a1b0c9d8e"):
    return Series(metric=metric, version=version,
                  points=tuple(Point(at=T0 + timedelta(minutes=i), value=v) for i, v in enumerate(values)))


def test_a_step_in_the_mean_is_found_where_it_happens():
    rng = random.Random(1)
    values = [0.9 + rng.gauss(0, 0.01) for _ in range(40)] + [0.84 + rng.gauss(0, 0.01) for _ in range(40)]
    assert change_point(values) in range(38, 43)


def test_noise_alone_is_not_a_change_point():
    rng = random.Random(2)
    assert change_point([0.9 + rng.gauss(0, 0.02) for _ in range(200)]) is None


def test_a_shift_is_named_after_the_nearest_earlier_deployment():
    rng = random.Random(3)
    values = [0.9 + rng.gauss(0, 0.005) for _ in range(20)] + [0.84 + rng.gauss(0, 0.005) for _ in range(20)]
    events = [Event(at=T0 - timedelta(hours=3), kind=EventKind.VERSION, title="version 111111111111"),
              Event(at=T0 + timedelta(minutes=11), kind=EventKind.DEPLOY, title="production → 3f2a1b0c9d8e"),
              Event(at=T0 + timedelta(minutes=30), kind=EventKind.DEPLOY, title="after the shift")]
    [found] = shifts([_series(values)], events)
    assert found.at == T0 + timedelta(minutes=20)
    assert found.text == ("task_success (version 3f2a1b0c9d8e) dropped 6 pts at 2026-03-01 14:20, "
                          "9 min after production → 3f2a1b0c9d8e")


def test_a_shift_after_a_rollout_step_is_named_after_the_step():
    rng = random.Random(3)
    values = [0.9 + rng.gauss(0, 0.005) for _ in range(20)] + [0.84 + rng.gauss(0, 0.005) for _ in range(20)]
    events = [Event(at=T0 - timedelta(hours=1), kind=EventKind.DEPLOY, title="production → 111111111111"),
              Event(at=T0 + timedelta(minutes=11), kind=EventKind.ROLLOUT,
                    title="3f2a1b0c9d8e reached 50% of production (rollout #3)")]
    [found] = shifts([_series(values)], events)
    assert found.text.endswith("at 2026-03-01 14:20, 9 min after 3f2a1b0c9d8e reached 50% of production (rollout #3)")


def test_shifts_join_the_timeline_in_time_order_and_the_text_lists_them():
    values = [100.0] * 10 + [180.0] * 10
    t = with_shifts(Timeline(repo="acme/bot", path="p.md", series=(_series(values, metric="latency_ms"),),
                             events=(Event(at=T0, kind=EventKind.MODEL, title="model a → b"),)))
    assert [e.kind for e in t.events] == [EventKind.MODEL, EventKind.SHIFT]
    assert "latency_ms (version 3f2a1b0c9d8e) rose 80 ms at 2026-03-01 14:10, 10 min after model a → b" in render_text(t)


def test_time_chart_draws_each_series_marks_events_and_escapes_text():
    s = _series([1.0, 2.0, 3.0], version="<script>")
    svg = time_chart("latency <ms>", [s], [Event(at=T0 + timedelta(minutes=1), kind=EventKind.DEPLOY, title="a & b")], [])
    assert svg.startswith("<svg") and svg.count('class="series"') == 1 and 'class="mark deploy"' in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "a &amp; b" in svg


def test_scores_chart_has_a_point_per_version_and_suite():
    svg = scores_chart("pass rate", [VersionScore(version="aaa", suite="s.yaml", pass_rate=1.0),
                                     VersionScore(version="bbb", suite="s.yaml", pass_rate=0.5)])
    assert svg.count('class="score"') == 2 and "bbb s.yaml: 50%" in svg


def test_no_data_draws_no_chart():
    assert time_chart("x", [], [], []) == "" and scores_chart("x", []) == ""


def test_a_switch_between_two_flat_versions_is_a_shift_of_all_traffic_named_after_the_deployment():
    old = Series(metric="task_success", version="aaaaaaaaaaaa",
                 points=tuple(Point(at=T0 + timedelta(minutes=i), value=0.9) for i in range(30)))
    new = Series(metric="task_success", version="bbbbbbbbbbbb",
                 points=tuple(Point(at=T0 + timedelta(minutes=i), value=0.8) for i in range(30, 60)))
    deploy = Event(at=T0 + timedelta(minutes=25), kind=EventKind.DEPLOY, title="production → bbbbbbbbbbbb")
    [found] = shifts([old, new], [deploy])
    assert found.text == ("task_success (all versions) dropped 10 pts at 2026-03-01 14:30, "
                          "5 min after production → bbbbbbbbbbbb")
