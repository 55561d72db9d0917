"""The page callbacks as plain functions: which section a path shows, where a click goes,
a user's name from the path, the audit form's query."""
from __future__ import annotations

import pytest
from dash import no_update

from callbacks import audit, pages, users
from components import ids
from components.nav import PAGES


@pytest.mark.parametrize("path, shown", [
    ("/", "Overview"), (None, "Overview"), ("/security", "Security"), ("/security/", "Security"),
    ("/users", "Users"), ("/users/a%2Fb", "Users"), ("/audit", "Audit"), ("/alerts", "Alerts"),
    ("/nowhere", None), ("/security/x", None), ("/overview", None), ("/audit/2024", None),
])
def test_the_path_marks_one_link_or_none_on_the_no_such_page_page(path, shown):
    _hrefs, active = pages.nav_links(path, "")
    assert [text for (_id, _path, text, _page), a in zip(PAGES, active) if a] == \
        ([shown] if shown else [])


def test_the_links_carry_the_range_and_the_wall_but_not_the_audit_filters():
    hrefs, _active = pages.nav_links("/audit", "?user=carol&days=7&kind=upload&kiosk=1"
                                               "&cycle=overview,security&every=20")
    assert hrefs == [p + "?days=7&kiosk=1&cycle=overview%2Csecurity&every=20"
                     for p in ("/", "/security", "/users", "/audit", "/alerts")]
    assert pages.nav_links("/", "")[0] == ["/", "/security", "/users", "/audit", "/alerts"]


def test_a_day_opens_the_audit_trail_of_that_range_keeping_the_wall():
    assert pages.audit_of_days(("2024-09-09", "2024-09-15"), "?days=30&kiosk=1&user=x") == \
        ("/audit", "?kiosk=1&start=2024-09-09&end=2024-09-15")


@pytest.mark.parametrize("trigger, picked, click, target", [
    (ids.USER_PICKER, "admin ", None, "/users/admin%20"),
    (ids.USER_PICKER, "a/b", None, "/users/a%2Fb"),
    (ids.GRAPH_TRANSFERS, None, {"points": [{"customdata": ["x", "y", "%3Cb%3E"]}]}, "/users/%3Cb%3E"),
    (ids.GRAPH_BYTES, None, {"points": [{"customdata": ["all others", "y", None]}]}, no_update),
    (ids.GRAPH_AVERAGE, None, {"points": [{"customdata": ["x", "y", "..%2F..%2Fapi"]}]},
     "/users/..%2F..%2Fapi"),                                   # stays one path segment
    (ids.USER_PICKER, "alice", None, no_update),                # already there
])
def test_a_pick_or_a_bar_click_opens_the_users_page(trigger, picked, click, target):
    assert pages.navigate(trigger, picked, click, "/users/alice") == target


@pytest.mark.parametrize("path, name", [
    ("/users", None), ("/users/", None), ("/users/admin%20", "admin "), ("/users/a%2Fb", "a/b"),
    ("/users/%C3%9F", "ß"),
])
def test_the_user_comes_from_the_path(path, name):
    assert users.name_of(path) == name


def test_the_audit_form_becomes_the_api_query():
    args = audit.query_args("2024-09-01", "2024-09-30T00:00:00", "carol", ["upload", "ban"], "",
                            None, "1", "%_")
    assert args == [("start", "2024-09-01"), ("end", "2024-09-30"), ("user", "carol"),
                    ("path", "%_"), ("kind", "upload"), ("kind", "ban"), ("failed", "1")]


@pytest.mark.parametrize("click, days", [
    ({"points": [{"x": "2024-09-18"}]}, ("2024-09-18", "2024-09-18")),
    ({"points": [{"x": "2024-09-18 00:00"}]}, ("2024-09-18", "2024-09-18")),
    ({"points": [{"x": "2024-09-16", "customdata": "2024-09-18 → 2024-09-22"}]},
     ("2024-09-18", "2024-09-22")),                   # a week: the range's days of it
    ({"points": [{"x": "2024-09-16", "customdata": ["2024-09-18 → 2024-09-22", "12"]}]},
     ("2024-09-18", "2024-09-22")),                   # a week's bar of time_figures
    ({"points": [{"x": "2024-09-18 03:00",
                  "customdata": ["2024-09-18 03:00 → 2024-09-18 03:59", "137"]}]},
     ("2024-09-18T03:00", "2024-09-18T03:59")),       # an hour: its minutes
    ({"points": [{"x": "<b>"}]}, None), ({"points": []}, None), (None, None),
])
def test_a_click_names_the_days_of_its_bar(click, days):
    assert pages.days_of(click) == days


def test_a_click_on_an_hour_opens_the_audit_trail_of_its_minutes():
    path, search = pages.audit_of_days(("2024-09-18T03:00", "2024-09-18T03:59"),
                                       "?kiosk=1&days=1")
    assert (path, search) == ("/audit", "?kiosk=1&start=2024-09-18T03%3A00&end=2024-09-18T03%3A59")
