"""The rules file: what it accepts, and a file that cannot be used refused with one line that
names the rule and the field, exit 2, by both programs (never a stack trace)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alerts import rules
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
[[rule]]
name = "brute-force"
when = "login_failures"
per = "ip"
over = 20
within = "10m"

[[rule]]
name = "acme-feed"
when = "quiet"
users = ["acme"]
kind = "upload"
min = 1
for = "26h"

[[rule]]
name = "big-day"
when = "bytes"
over = "1.5TiB"
within = "1d"

[[notify]]
webhook = "https://hooks.example.com/sftpgo?token=s3cret"

[[notify]]
webhook = "https://hooks.example.com/other"
format = "slack"

[[notify]]
email = "ops@example.com"

[[digest]]
every = "1d"
email = "ops@example.com"
"""


def _load(tmp_path, text: str, **env) -> rules.Config:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return rules.load_checked(Settings(alert_rules=str(path), smtp_url=env.get(
        "smtp_url", "smtp://mail.example.com:25"), smtp_from="dash@example.com"))


def test_a_good_file(tmp_path):
    cfg = _load(tmp_path, GOOD)
    assert [r.name for r in cfg.rules] == ["brute-force", "acme-feed", "big-day"]
    quiet = cfg.rule("acme-feed")
    assert (quiet.users, quiet.kinds, quiet.min, quiet.for_s) == (("acme",), ("upload",), 1, 93600)
    assert cfg.rule("big-day").over == int(1.5 * 2**40)
    assert cfg.rule("big-day").kinds == ("upload", "download")
    # shown names: no path, no query (the secret of a hook), two on one host kept apart
    assert [c.name for c in cfg.channels] == ["webhook:https://hooks.example.com/…",
                                              "webhook:https://hooks.example.com/… #2",
                                              "email:ops@example.com"]
    assert cfg.digests[0].every_s == 86400


def test_no_file_means_the_default_rules():
    cfg = rules.load_checked(Settings())
    assert [(r.name, r.when) for r in cfg.rules] == [
        ("brute-force", "login_failures"), ("ban", "ban"),
        ("break-in", "login_after_failures"), ("stale-node", "stale_node")]
    assert (cfg.rule("brute-force").over, cfg.rule("brute-force").within_s) == (20, 600)
    assert (cfg.rule("break-in").over, cfg.rule("break-in").within_s) == (5, 3600)
    assert cfg.channels == () and cfg.max_age_s == 3600


BAD = [
    ("[[rule]\nname = 1", "not TOML"),
    ('[[rule]]\nname = "Bad Name"\nwhen = "ban"', "rule #1: name"),
    ('[[rule]]\nname = "x"\nwhen = "logins"', "rule 'x': when"),
    ('[[rule]]\nname = "x"\nwhen = "login_failures"\nwithin = "10m"', "rule 'x': over: missing"),
    ('[[rule]]\nname = "x"\nwhen = "login_failures"\nover = 0\nwithin = "10m"', "rule 'x': over"),
    ('[[rule]]\nname = "x"\nwhen = "login_failures"\nover = 5\nwithin = "ten"', "rule 'x': within"),
    ('[[rule]]\nname = "x"\nwhen = "login_failures"\nover = 5\nwithin = "0.5s"',
     "rule 'x': within: '0.5s' is out of range: from 1s to 366d"),
    ('[[rule]]\nname = "x"\nwhen = "login_failures"\nover = 5\nwithin = "1m"\nper = "user"',
     "rule 'x': per"),
    ('[[rule]]\nname = "x"\nwhen = "ban"\nover = 3', "rule 'x': over: not a field here"),
    ('[[rule]]\nname = "x"\nwhen = "quiet"\nfor = "1h"', "rule 'x': users: missing"),
    ('[[rule]]\nname = "x"\nwhen = "quiet"\nusers = ["a"]\nfor = "1h"\nkind = "ban"',
     "rule 'x': kind"),
    ('[[rule]]\nname = "x"\nwhen = "bytes"\nover = "lots"\nwithin = "1d"', "rule 'x': over"),
    ('[[rule]]\nname = "x"\nwhen = "ban"\n[[rule]]\nname = "x"\nwhen = "ban"', "rule 'x': name"),
    ('[[notify]]\nwebhook = "ftp://example.com/"', "notify #1: webhook"),
    ('[[notify]]\nemail = "not an address"', "notify #1: email"),
    ('[[notify]]\nwebhook = "https://x.example/"\nformat = "xml"', "notify #1: format"),
    ('[[digest]]\nemail = "ops@example.com"', "digest #1: every"),
    ('[[alarm]]\nname = "x"', "unknown table 'alarm'"),
]


@pytest.mark.parametrize("text,words", BAD)
def test_a_file_that_cannot_be_used_names_the_rule_and_field(tmp_path, text, words):
    with pytest.raises(rules.RulesError) as info:
        _load(tmp_path, text)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_email_without_smtp_is_refused(tmp_path):
    with pytest.raises(rules.RulesError, match="email:ops@example.com: e-mail needs SMTP_URL"):
        _load(tmp_path, '[[notify]]\nemail = "ops@example.com"', smtp_url="")


def test_smtp_url_errors_never_repeat_the_password():
    for bad in ("http://user:hunter2@mail", "smtp://user:hunter2@mail:notaport",
                "smtp://user:hunter2@mail?tls=yes"):
        with pytest.raises(rules.RulesError) as info:
            rules.load(Settings(smtp_url=bad))
        assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("program", ["app.py", "ingest.py"])
@pytest.mark.parametrize("text,words", [
    ('[[rule]]\nname = "bf"\nwhen = "login_failures"\nover = "many"\nwithin = "10m"',
     "rule 'bf': over"),
    ("this is = = not toml", "not TOML"),
])
def test_both_programs_exit_2_with_one_line(tmp_path, program, text, words):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "logs").mkdir()
    done = subprocess.run([sys.executable, program, "--alert-rules", str(path), "--db",
                           f"sqlite:///{tmp_path}/t.db", "--log-dir", str(tmp_path / "logs")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_file_is_one_line_too(tmp_path):
    done = subprocess.run([sys.executable, "ingest.py", "--alert-rules", str(tmp_path / "no.toml"),
                           "--db", f"sqlite:///{tmp_path}/t.db", "--log-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "ALERT_MAX_AGE": "1h"})
    assert done.returncode == 2 and "cannot read it" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
