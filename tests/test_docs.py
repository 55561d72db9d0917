"""The README documents every setting."""
from __future__ import annotations

import re
from pathlib import Path

import settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_names_every_settings_env_var():
    assert README.exists(), "README.md is missing"
    text = README.read_text(encoding="utf-8")
    missing = [env for _field, env, _default, _help in settings.describe()
               if not re.search(rf"\b{re.escape(env)}\b", text)]
    assert missing == [], f"README.md does not mention: {', '.join(missing)}"
