"""figures: number formats, who is drawn, and hostile usernames kept as text."""
from __future__ import annotations

import pytest

from dashboard import figures
from dashboard.figures import byte_ticks, display_name, human_bytes, label, top_users

from tests.support.dashboard import plotly

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (999, "999 B"), (2_500_000_000, "2.50 GB"), (1000, "1.00 KB"), (1536, "1.54 KB"), (123_456, "123 KB"),
    (25_300_000, "25.3 MB"), (1_886_270_174, "1.89 GB"), (3 * 10**12, "3.00 TB"),
])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


def test_compact_human_bytes_drop_trailing_zeros():
    assert [human_bytes(n, compact=True) for n in (2e9, 2.5e9, 120e6, 0)] == \
        ["2 GB", "2.5 GB", "120 MB", "0 B"]


@pytest.mark.parametrize("top", [1, 7, 999, 1001, 4_500_000, 17_000_000_000, 9.9e14])
def test_byte_ticks_cover_the_axis_with_human_labels(top):
    values, texts = byte_ticks(top)
    assert values[0] == 0 and values[-1] >= top and 3 <= len(values) <= 12
    assert texts == ["0"] + [human_bytes(v, compact=True) for v in values[1:]]   # a bare 0
    assert len(set(texts)) == len(texts)               # no two ticks read the same


def test_labels_escape_markup_and_quote_invisible_differences():
    assert label(HOSTILE) == "&lt;img src=x onerror=alert(1)&gt;"
    assert label("a&amp;b") == "a&amp;amp;b"             # distinct from the name 'a&b'
    assert label("x" * 30, 10) == "x" * 9 + "…"
    assert display_name("admin ") == '"admin "' and display_name("admin") == "admin"
    assert display_name("") == '""' and display_name("a\tb") == '"a\\tb"'
    assert display_name('say "hi"') == 'say "hi"'


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("char", BIDI)
def test_bidi_controls_in_names_are_shown_escaped_never_obeyed(char):
    shown = display_name(f"evil{char}gnp.exe")
    assert shown == f'"evil\\u{ord(char):04x}gnp.exe"'
    assert not set(shown) & set(BIDI)


def test_visible_escapes_invisible_characters_in_free_text():
    assert figures.visible("/logs/a\u202egol.txt: gone") == "/logs/a\\u202egol.txt: gone"
    assert figures.visible("zero\u200bwidth \U000e0001tag") == "zero\\u200bwidth \\U000e0001tag"
    assert figures.visible("plain, jürgen😀 text") == "plain, jürgen😀 text"


def _user(name, up=1, down=1, bu=10, bd=10, failed=0):
    transfers = up + down
    return {"username": name, "uploads": up, "downloads": down, "transfers": transfers,
            "failed_transfers": failed, "bytes_uploaded": bu, "bytes_downloaded": bd,
            "avg_bytes_per_transfer": round((bu + bd) / transfers, 2) if transfers else None,
            "file_ops": 0, "logins": 0}


def test_top_users_groups_the_rest_as_others():
    users = [_user(f"u{i}", up=i + 1, bu=1000 - i) for i in range(6)] + [_user("idle", 0, 0, 0, 0)]
    rows = top_users(users, 4)
    assert [r["username"] for r in rows] == ["u0", "u1", "u2", "u3", "others (2 users)"]
    others = rows[-1]
    assert others["others"] == 2 and others["uploads"] == 5 + 6 and others["downloads"] == 2
    assert others["avg_bytes_per_transfer"] == round((996 + 995 + 20) / 13, 2)
    assert [r["username"] for r in top_users(users, 10)] == [f"u{i}" for i in range(6)]


def _strings(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _strings(v)
    elif isinstance(obj, str):
        yield obj


@pytest.mark.parametrize("build", [
    lambda users: figures.user_transfers(users, 15),
    lambda users: figures.user_transfers(users, 15, log_y=True),
    lambda users: figures.user_bytes(users, 15),
    lambda users: figures.user_average(users, 15, kiosk=True),
])
def test_user_figures_never_carry_raw_markup(build):
    users = [_user(HOSTILE, bu=5000), _user('quote" \'path\'', bu=400), _user("admin "),
             _user("admin")]
    fig = plotly(build(users)).to_plotly_json()
    texts = list(_strings(fig["data"])) + list(_strings(fig["layout"]["xaxis"]))
    assert "&lt;img src=x onerror=alert(1)&gt;" in texts          # the full name, for hovers
    assert not any("<img" in t for t in texts)
    assert fig["layout"]["xaxis"]["type"] == "category"        # '2024', '1e3' stay names
    assert '"admin "' in fig["layout"]["xaxis"]["ticktext"]


@pytest.mark.parametrize("build", [
    lambda users: figures.user_transfers(users, 15),
    lambda users: figures.user_bytes(users, 15),
    lambda users: figures.user_average(users, 15),
])
def test_user_figures_never_carry_a_bidi_control(build):
    users = [_user(f"{c}x{i}", bu=100 + i) for i, c in enumerate(BIDI)] + [_user("plain")]
    fig = plotly(build(users)).to_plotly_json()
    texts = list(_strings(fig["data"])) + list(_strings(fig["layout"]["xaxis"]))
    assert '"\\u202ex4"' in texts                          # full name, for the hovers
    assert not any(set(t) & set(BIDI) for t in texts)


def test_user_transfers_stack_uploads_and_downloads_on_an_optional_log_axis():
    users = [_user("big", up=30, down=70), _user("small", up=1, down=2)]
    fig = plotly(figures.user_transfers(users, 15, log_y=True))
    assert fig.layout.barmode == "stack" and fig.layout.yaxis.type == "log"
    assert [t.name for t in fig.data] == ["Uploads", "Downloads"]
    assert list(fig.data[0].y) == [30, 1] and list(fig.data[1].y) == [70, 2]
    assert plotly(figures.user_transfers(users, 15)).layout.yaxis.type == "linear"


def test_user_bytes_axis_speaks_human_units():
    fig = plotly(figures.user_bytes([_user("a", bu=3_000_000_000, bd=1_200_000_000)], 15))
    assert fig.layout.yaxis.ticktext[:2] == ("0", "1 GB")
    assert [list(c) for c in fig.data[0].customdata] == [["a", "Uploads: 3.00 GB", "a"]]
    assert [list(c) for c in fig.data[1].customdata] == [["a", "Downloads: 1.20 GB", "a"]]


def test_activities_by_day_draw_every_day_stacked_with_zeros():
    days = [{"date": f"2024-09-0{i}", "upload": i, "download": 0, "file_op": 0, "login": 0,
             "login_failed": 0 if i != 2 else 5, "total": i} for i in range(1, 4)]
    days[1].update(upload=0, total=5)
    fig = plotly(figures.activities_by_day(days))
    assert fig.layout.barmode == "stack" and len(fig.data) == 5
    assert all(list(t.x) == ["2024-09-01", "2024-09-02", "2024-09-03"] for t in fig.data)
    assert list(fig.data[0].y) == [1, 0, 3]
    assert fig.layout.xaxis.type == "date"


def test_no_transfers_draws_an_explicit_empty_state():
    fig = plotly(figures.user_bytes([_user("watcher", 0, 0, 0, 0)], 15))
    assert fig.data == () and fig.layout.annotations[0].text == "No transfers in this range"
