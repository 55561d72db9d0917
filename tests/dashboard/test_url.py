"""callbacks/url.py: the query string read into a range spec and written back."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from callbacks import url
from dashboard.params import RangeError

TODAY = date(2024, 9, 18)
DEFAULT = date(2022, 1, 1)


@pytest.mark.parametrize("search, spec", [
    ("", {}), (None, {}), ("?kiosk=1", {}), ("?days=7", {"days": "7"}),
    ("?start=2024-09-01&end=2024-09-30", {"start": "2024-09-01", "end": "2024-09-30"}),
    ("?end=2024-09-30", {"end": "2024-09-30"}),
    ("?days=30&start=2024-09-01", {"days": "30"}),                  # days wins
    ("?start=%3Cb%3E", {"start": "<b>"}),
])
def test_the_query_string_names_a_range(search, spec):
    assert url.range_spec(search) == spec


@pytest.mark.parametrize("spec, expected", [
    ({"days": "1"}, ("2024-09-18", "2024-09-18")),
    ({"days": "36600"}, ((TODAY - timedelta(days=36599)).isoformat(), "2024-09-18")),
    ({"end": "2021-06-30"}, ("2021-06-30", "2021-06-30")),     # before the default start
    ({"end": "2024-06-30"}, ("2022-01-01", "2024-06-30")),
])
def test_specs_resolve(spec, expected):
    start, end = url.resolve(spec, TODAY, DEFAULT)
    assert (start.isoformat(), end.isoformat()) == expected


@pytest.mark.parametrize("spec", [
    {"days": "0"}, {"days": "-3"}, {"days": "36601"}, {"days": "7.5"}, {"days": "٣"},
    {"days": ""}, {"start": "garbage"}, {"start": "2024-13-01"},
    {"start": "2024-09-30", "end": "2024-09-01"}, {"start": "0001-01-01", "end": "9999-12-31"},
])
def test_bad_specs_are_refused_with_a_reason(spec):
    with pytest.raises(RangeError):
        url.resolve(spec, TODAY, DEFAULT)


def test_writing_a_range_replaces_the_range_keys_and_keeps_the_rest():
    search = "?kiosk=1&start=2024-01-01&end=2024-02-01&user=a%26b&kind=upload&kind=ban"
    assert url.with_params(search, url.range_changes({"days": "7"})) == \
        "?kiosk=1&user=a%26b&kind=upload&kind=ban&days=7"
    assert url.with_params("?days=7", url.range_changes({})) == ""
    assert url.with_params("", {"kind": ["upload", "ban"], "user": ""}) == "?kind=upload&kind=ban"


def test_a_pick_ending_today_keeps_following_the_clock():
    assert url.picked_spec(date(2024, 9, 1), TODAY, TODAY) == {"start": "2024-09-01"}
    assert url.picked_spec(date(2024, 9, 1), date(2024, 9, 2), TODAY) == \
        {"start": "2024-09-01", "end": "2024-09-02"}


def test_the_shared_part_leaves_the_audit_filters_behind():
    assert url.shared_search("?user=x&days=7&path=%25&kiosk=1&every=5&cycle=a,b") == \
        "?days=7&kiosk=1&every=5&cycle=a%2Cb"
    assert url.shared_search("?user=x") == ""
