"""Time buckets that fit the range: days, ISO weeks or months, so a long range stays readable."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from dashboard import figures

from tests.support.dashboard import plotly

KINDS = ("upload", "download", "file_op", "login", "login_failed")


def days_from(first: date, n: int) -> list[dict]:
    out = []
    for i in range(n):
        d = first + timedelta(days=i)
        counts = {k: (i + j) % 4 for j, k in enumerate(KINDS)}
        out.append({"date": d.isoformat(), **counts, "total": sum(counts.values())})
    return out


@pytest.mark.parametrize("n, bucket", [(1, "day"), (120, "day"), (121, "week"), (840, "week"),
                                       (841, "month"), (1795, "month")])
def test_the_bucket_keeps_to_about_120_bars(n, bucket):
    assert figures.bucket_for(n) == bucket
    fig = plotly(figures.activities_by_day(days_from(date(2022, 1, 1), n)))
    assert len(fig.data[0].x) <= 125


def test_weeks_start_monday_and_sum_exactly_what_their_days_hold():
    days = days_from(date(2024, 9, 18), 200)            # a Wednesday
    weeks = figures.buckets(days, "week")
    assert weeks[0]["slot"] == "2024-09-16" and weeks[0]["start"] == "2024-09-18"
    assert weeks[0]["end"] == "2024-09-22"               # the range's days of that week
    assert all(date.fromisoformat(w["slot"]).weekday() == 0 for w in weeks)
    for k in KINDS + ("total",):
        assert sum(w[k] for w in weeks) == sum(d[k] for d in days)
    assert weeks[1]["upload"] == sum(d["upload"] for d in days[5:12])


def test_months_and_their_hover_name_the_days_they_hold():
    days = days_from(date(2020, 1, 15), 1000)
    fig = plotly(figures.activities_by_day(days))
    assert fig.data[0].x[:2] == ("2020-01-01", "2020-02-01")
    assert fig.data[0].customdata[0][0] == "2020-01-15 → 2020-01-31"
    assert fig.layout.yaxis.title.text == "events per month"
    assert figures.BUCKET_TITLES["month"] == "Activities by month"
    assert sum(fig.data[0].y) == sum(d["upload"] for d in days)


def test_the_api_adds_buckets_beside_the_days(sqlite_url):
    from app import create_app
    from settings import Settings
    client = create_app(Settings(db_url=sqlite_url)).server.test_client()
    r = client.get("/api/stats?start=2024-01-01&end=2024-12-31&bucket=week")
    assert r.status_code == 200
    body = r.get_json()
    assert len(body["days"]) == 366 and len(body["buckets"]) == 53
    assert body["buckets"][0]["start"] == "2024-01-01" and "slot" not in body["buckets"][0]
    assert client.get("/api/stats?bucket=year").status_code == 400
    assert "buckets" not in client.get("/api/stats?start=2024-01-01&end=2024-01-02").get_json()
