"""The documentation (README.md and the pages under docs/) documents every setting."""
from __future__ import annotations

import re
from pathlib import Path

import settings

README = Path(__file__).resolve().parent.parent / "README.md"
DOCS = README.parent / "docs"


def test_the_docs_name_every_settings_env_var():
    assert README.exists(), "README.md is missing"
    text = "\n".join(p.read_text(encoding="utf-8")
                     for p in [README, *sorted(DOCS.glob("*.md"))])
    missing = [env for _field, env, _default, _help in settings.describe()
               if not re.search(rf"\b{re.escape(env)}\b", text)]
    assert missing == [], f"neither README.md nor docs/ mention: {', '.join(missing)}"


def test_every_flag_has_help_and_its_row_in_the_readme_table():
    import app
    import ingest
    text = "\n".join(p.read_text(encoding="utf-8")
                     for p in [README, *sorted(DOCS.glob("*.md"))])
    envs = {name: env for name, env, _default, _help in settings.describe()}
    for name, flag in settings.flags().items():
        row = re.search(rf"^\| `{envs[name]}` \| `{re.escape(flag)}` \|", text, re.M)
        assert row, f"no settings table (README, docs/) has a row '| `{envs[name]}` | `{flag}` |'"
    for command, parser, flags in (("app.py", app.build_parser(), settings.flags().values()),
                                   ("ingest.py", ingest.build_parser(), ("--log-dir", "--db"))):
        for flag in flags:
            action = parser._option_string_actions.get(flag)
            assert action is not None and action.help and "[env " in action.help, \
                f"{command} {flag} is missing or has no help naming its environment variable"
