"""The colour-blind-safe palette (Okabe–Ito): every figure, the headline tiles and the
docs (docs/pages.md) use it; upload, download and failed keep colours of their own."""
from __future__ import annotations

import re
from datetime import date, timedelta

from dashboard import analysis_figures, figures, queries

from tests.support.dashboard import ROOT

USERS = [("alice", "upload", 3, 3000, 1), ("bob", "download", 5, 2000, 0),
         ("carol", "file_op", 2, 0, 0), ("carol", "login", 1, 0, 0)]


def every_figure():
    """Yields one figure of every builder, drawn from realistic rows."""
    for n_days in (5, 400):                                      # by day, and by week
        start = date(2024, 9, 18) - timedelta(days=n_days - 1)
        rows = [(start.isoformat(), kind, events, nbytes, failed)
                for _user, kind, events, nbytes, failed in USERS]
        stats = queries.assemble_stats(start, date(2024, 9, 18), rows, USERS)
        yield figures.activities_by_day(stats["days"])
    for limit in (1, 10):                                       # with and without "others"
        yield figures.user_transfers(stats["users"], limit)
        yield figures.user_bytes(stats["users"], limit)
        yield figures.user_average(stats["users"], limit)
    days = [{"date": d["date"], "login_failed": 3, "ban": 1, "upload": 1, "download": 2,
             "file_op": 1, "login": 1, "bytes_uploaded": 10, "bytes_downloaded": 20}
            for d in stats["days"][:5]]
    yield analysis_figures.failures_by_day(days)
    yield analysis_figures.counts_bar([{"method": "password", "failures": 3}], "method", "failures")
    yield analysis_figures.user_activity(days)
    yield analysis_figures.user_bytes(days)


def test_every_figure_draws_with_the_palette_only():
    palette = {c.upper() for c in figures.OKABE_ITO.values()}
    used = set()
    for fig in every_figure():
        for trace in fig.data:
            color = trace.marker.color
            assert isinstance(color, str), (trace.name, color)
            used.add(color.upper())
    assert used <= palette, used - palette
    assert {figures.COLORS[k].upper() for k in ("upload", "download", "login_failed")} <= used


def test_upload_download_and_failed_are_three_different_okabe_ito_colours():
    named = {v: k for k, v in figures.OKABE_ITO.items()}
    trio = [named[figures.COLORS[k]] for k in ("upload", "download", "failed")]
    assert trio == ["bluish_green", "sky_blue", "vermillion"]
    assert figures.COLORS["failed"] == figures.COLORS["login_failed"]


def test_the_headline_tiles_and_the_docs_use_the_same_colours():
    css = (ROOT / "assets" / "dashboard.css").read_text()
    tiles = dict(re.findall(r"\.headline-tile\.(\w+) \.headline-value \{ color: (#\w+); \}", css))
    assert tiles == {"up": figures.COLORS["upload"], "down": figures.COLORS["download"],
                     "bad": figures.COLORS["failed"]}
    docs = (ROOT / "docs" / "pages.md").read_text()
    assert "Okabe–Ito" in docs
    for hex_code in (figures.COLORS[k] for k in ("upload", "download", "failed")):
        assert hex_code in docs
