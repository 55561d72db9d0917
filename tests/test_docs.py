"""The documentation stays true: README.md is a front page that opens with the two commands,
docs/configuration.md has a row for every setting of settings.py (and no other), every flag
of app.py and ingest.py has help and is documented, every link between the pages resolves
(anchors included), and nothing points outside the repository."""
from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
INDEX = DOCS / "index.md"
README_MAX_LINES = 200


def pages() -> list[Path]:
    """The Markdown pages of the repository: the README, ARCHITECTURE.md and docs/."""
    return [README, ROOT / "ARCHITECTURE.md", *sorted(DOCS.glob("*.md"))]


def prose(path: Path) -> list[tuple[int, str]]:
    """Returns (line number, line) of a Markdown page outside its fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


# --- the settings ------------------------------------------------------------------------

def settings_rows() -> dict[str, list[str]]:
    """Returns {environment variable: its row's cells} of the table under "## The settings"."""
    rows, inside = {}, False
    for _number, line in prose(CONFIGURATION):
        if line.startswith("## "):
            inside = line.strip() == "## The settings"
            continue
        if inside and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    return rows


def plain(cell: str) -> str:
    """Returns a cell's text as settings.py writes it: no code marks, no HTML escapes."""
    return " ".join(html.unescape(cell.replace("`", "")).split())


def default_matches(name: str, default, cell: str) -> bool:
    if name == "node":                       # the host's name: not one value
        return "host" in cell
    if default == "":
        return cell == "empty"
    shown = re.match(r"`([^`]*)`", cell)
    if shown is None:
        return False
    try:
        return type(default)(shown.group(1)) == default
    except ValueError:
        return False


def expected_row(name: str, env: str, default, help_text: str) -> str:
    flag = settings.flags().get(name)
    shown = "empty" if default == "" else f"`{default}`"
    return f"| `{env}` | {f'`{flag}`' if flag else ''} | {shown} | {help_text} |"


def test_every_setting_has_its_row_in_configuration_md_and_no_other_row_is_there():
    rows = settings_rows()
    described = settings.describe()
    wrong = []
    for name, env, default, help_text in described:
        flag = settings.flags().get(name)
        cells = rows.get(env)
        if cells is None or len(cells) != 4:
            wrong.append(f"missing: {expected_row(name, env, default, help_text)}")
            continue
        _env, flag_cell, default_cell, help_cell = cells
        if flag_cell != (f"`{flag}`" if flag else ""):
            wrong.append(f"{env}: the flag is {flag or 'none'}, the table says {flag_cell!r}")
        if not default_matches(name, default, default_cell):
            wrong.append(f"{env}: the default is {default!r}, the table says {default_cell!r}")
        help_shown = plain(help_cell)
        if help_shown != help_text and not help_shown.startswith(help_text + " "):
            wrong.append(f"{env}: the help column must start with settings.py's help, "
                         f"{help_text!r}; it says {help_shown!r}")
    known = {env for _name, env, _default, _help in described}
    wrong += [f"{env}: not a setting of settings.py" for env in rows if env not in known]
    assert wrong == [], "docs/configuration.md's settings table:\n" + "\n".join(wrong)


def test_every_flag_of_app_and_ingest_has_help_and_is_documented():
    import app
    import ingest
    text = CONFIGURATION.read_text(encoding="utf-8")
    setting_flags = set(settings.flags().values())
    problems = []
    for command, parser in (("app.py", app.build_parser()), ("ingest.py", ingest.build_parser())):
        for action in parser._actions:
            for flag in action.option_strings:
                if flag in ("-h", "--help") or not flag.startswith("--"):
                    continue
                if not (action.help or "").strip():
                    problems.append(f"{command} {flag} has no help")
                if flag in setting_flags and "[env " not in action.help:
                    problems.append(f"{command} {flag}: its help does not name its variable")
                if not re.search(rf"`{re.escape(flag)}(?![\w-])", text):
                    problems.append(f"{command} {flag} is not in docs/configuration.md")
    assert problems == [], "\n".join(problems)


# --- links ---------------------------------------------------------------------------------

_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE = re.compile(r"`[^`]*`")


def links(path: Path) -> list[tuple[int, str]]:
    """Returns (line number, target) of every Markdown link and image of a page (not in code)."""
    out = []
    for number, line in prose(path):
        # link texts may be code (`GET /api/stats`): drop code spans outside link targets only
        for target in _LINK.findall(_CODE.sub("", line)):
            out.append((number, target))
    return out


def slug(heading: str) -> str:
    """Returns the anchor GitHub gives a heading: lower case, punctuation dropped, spaces as -."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Returns the anchors of a page's headings (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for _number, line in prose(path):
        m = re.match(r"#{1,6} (.+)", line)
        if not m:
            continue
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def is_external(target: str) -> bool:
    return re.match(r"[a-z][a-z0-9+.-]*:", target) is not None


def test_every_relative_link_resolves_to_a_file_and_heading_inside_the_repository():
    broken = []
    for page in pages():
        for number, target in links(page):
            where = f"{page.relative_to(ROOT)}:{number}: {target}"
            if is_external(target):
                if not target.startswith(("https://", "http://", "mailto:")):
                    broken.append(f"{where}: not a web address")
                continue
            path_part, _, anchor = target.partition("#")
            if path_part.startswith("/"):
                broken.append(f"{where}: an absolute path (give it relative to the page)")
                continue
            dest = (page.parent / path_part).resolve() if path_part else page
            if dest != ROOT and ROOT not in dest.parents:
                broken.append(f"{where}: outside the repository")
            elif not dest.exists():
                broken.append(f"{where}: no such file")
            elif anchor and (dest.suffix != ".md" or anchor not in anchors(dest)):
                broken.append(f"{where}: no heading #{anchor} in {dest.name}")
    assert broken == [], "\n".join(broken)


def test_nothing_in_the_repository_points_to_a_folder_outside_it():
    """No file names the reference folder the project grew up beside (in the parent folder),
    and no tracked symlink leads out of the repository: a clone alone must work."""
    outside = re.compile(r"\.\./" + "shared|/work/" + "shared|/work/" + "main")
    hits = []
    for rel in tracked_files():
        path = ROOT / rel
        if path.is_symlink():
            target = path.resolve()
            if target != ROOT and ROOT not in target.parents:
                hits.append(f"{rel}: a symlink to {target}")
            continue
        if path.suffix in (".png", ".gz", ".jpg") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if outside.search(line):
                hits.append(f"{rel}:{number}: {line.strip()[:100]}")
    assert hits == [], "\n".join(hits)


def tracked_files() -> list[str]:
    """Returns the repository's files as git knows them (what a clone gets)."""
    done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [name for name in done.stdout.decode().split("\0") if name]


def test_every_docs_page_is_linked_from_the_index_and_the_readme():
    def linked(page: Path) -> set[Path]:
        return {(page.parent / t.partition("#")[0]).resolve()
                for _n, t in links(page) if not is_external(t) and t.partition("#")[0]}
    from_index, from_readme = linked(INDEX), linked(README)
    missing = [f"{p.name}: not linked from {where}" for p in sorted(DOCS.glob("*.md"))
               if p != INDEX
               for where, found in (("docs/index.md", from_index), ("README.md", from_readme))
               if p.resolve() not in found]
    assert INDEX.resolve() in from_readme, "README.md does not link docs/index.md"
    assert missing == [], "\n".join(missing)


# --- the README as a front page ----------------------------------------------------------------

def first_block(path: Path) -> tuple[list[str], list[str]]:
    """Returns (the lines before the first fenced block, that block's lines)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return lines[:start], lines[start + 1:end]


def test_the_readme_is_a_front_page_that_opens_with_the_two_commands():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, \
        f"README.md has {len(lines)} lines: keep it a front page, move the rest to docs/"
    before, block = first_block(README)
    assert [line for line in before if line.strip()] == [lines[0]] and lines[0].startswith("# "), \
        "README.md must open with its title, then the two commands"
    commands = [line.split("#")[0].split() for line in block if line.strip()]
    assert [c[0] for c in commands] == ["./run.sh", "./test.sh"], block
    assert all(len(c) == 1 for c in commands), f"the two commands take no arguments: {block}"


def test_ci_runs_the_readmes_test_command():
    _before, block = first_block(README)
    test_command = block[1].split("#")[0].split()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert ci[-1].split()[:len(test_command)] == test_command, (ci[-1], test_command)


def test_the_readme_names_what_test_sh_installs():
    script = (ROOT / "test.sh").read_text()
    packages = re.findall(r"missing\+=\(([\w-]+)\)", script)
    assert packages, "test.sh installs nothing any more? then say so in the README"
    _before, block = first_block(README)
    said = block[1].lower()
    unnamed = [p for p in packages if p.removesuffix("-server") not in said]
    assert unnamed == [], f"README's ./test.sh line does not name {unnamed}"


# --- ARCHITECTURE.md ---------------------------------------------------------------------------

def test_architecture_names_every_module_of_ingestion_and_dashboard_and_every_asset():
    """ARCHITECTURE.md stays true to the tree: a module added, split or renamed gets its room."""
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    files = [*sorted((ROOT / "ingestion").glob("*.py")), *sorted((ROOT / "dashboard").glob("*.py")),
             *sorted((ROOT / "assets").iterdir())]
    unnamed = [str(f.relative_to(ROOT)) for f in files
               if f.name != "__init__.py" and not re.search(rf"\b{re.escape(f.name)}\b", text)]
    assert unnamed == [], f"ARCHITECTURE.md does not name: {', '.join(unnamed)}"
