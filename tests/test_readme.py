"""Every command in README.md runs as written from the repository's root once `make run` has
made `.venv/`, on a machine that has only Python, make and curl.

The README's commands are the lines of its ``sh`` blocks and the inline spans that start like
one (``make …``, ``uv …``, ``.venv/bin/…``). Each must start a program a fresh clone has, and
each make target, ``opsdesk`` and ``temporal`` subcommand and option, API route and body, and
``OPSDESK_*`` setting it names must exist. Nothing is run against a stack.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.core
import typer.main

from opsdesk.cli import app
from opsdesk.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ".venv/bin/"
# What the quick start needs besides Python; anything else must come from `make run`.
SYSTEM_PROGRAMS = {"make", "curl", "export", "sleep"}
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
INLINE_COMMAND = re.compile(r"^(?:make |uvx? |\.venv/bin/\w)")


def readme_commands(markdown: str) -> list[list[str]]:
    """The README's commands, each as its words, with ``$VAR`` from earlier lines expanded.

    A command with a redirection, pipe or list in it (say an unquoted ``<id>`` placeholder)
    comes back as its operators after the word ``SHELL-OPERATORS``: no check here follows
    them, so ``problems`` names them.
    """
    commands: list[list[str]] = []
    for block in re.findall(r"^```sh\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE):
        variables: dict[str, str] = {}
        pending = ""
        for line in block.splitlines():
            pending += line + "\n"
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # a quoted argument goes on over the next lines
                continue
            text, pending = pending, ""
            if operators := _operators(text):
                commands.append(["SHELL-OPERATORS", *operators, "in", text.strip()])
            elif words and all(ASSIGNMENT.match(w) for w in words):
                variables.update(_assignment(w) for w in words)
            elif words:
                commands.append([_expand(w, variables) for w in words])
        assert not pending, f"unterminated command in README: {pending!r}"
    outside = re.sub(r"^```.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)
    for span in re.findall(r"`([^`\n]+)`", outside):
        if INLINE_COMMAND.match(span):
            commands.append(shlex.split(span))
    return commands


def _operators(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return [t for t in lexer if t and set(t) <= set("<>|&;()")]


def _assignment(word: str) -> tuple[str, str]:
    match = ASSIGNMENT.match(word)
    assert match is not None
    return match[1], match[2]


def _expand(word: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m[1], m[0]), word)


def problems(command: list[str]) -> list[str]:
    """What would keep ``command`` from running as written; empty when nothing would."""
    shown = shlex.join(command)
    found: list[str] = []
    while command and ASSIGNMENT.match(command[0]):
        found += _setting_problems(_assignment(command[0])[0])
        command = command[1:]
    if not command:
        return found
    program, args = command[0], command[1:]
    if program == "SHELL-OPERATORS":
        return [f"the shell would read {' '.join(args)} as redirection or control"]
    if program.startswith(VENV_BIN):
        if not (ROOT / program).is_file():
            return [*found, f"{shown}: {program} is not made by `make run`"]
        checks = {"opsdesk": _opsdesk_problems, "temporal": _temporal_problems}
        check = checks.get(program.removeprefix(VENV_BIN))
        found += check(args) if check else [f"{shown}: no check knows {program}"]
    elif program == "export":
        for word in args:
            found += _setting_problems(_assignment(word)[0])
    elif program == "make":
        found += _make_problems(args)
    elif program == "curl":
        found += _curl_problems(args)
    elif program == "sleep":
        pass
    else:
        found.append(
            f"{shown}: {program} is not on a fresh machine after `make run` "
            f"(it has {', '.join(sorted(SYSTEM_PROGRAMS))} and {VENV_BIN})"
        )
    return [p if p.startswith(shown) else f"{shown}: {p}" for p in found]


def _setting_problems(name: str) -> list[str]:
    if name.startswith("OPSDESK_") and name.removeprefix("OPSDESK_").lower() not in (
        Settings.model_fields
    ):
        return [f"{name} is not a setting"]
    return []


def _opsdesk_problems(args: list[str]) -> list[str]:
    """Parse the arguments as the command line would, without running the command."""
    command = typer.main.get_command(app)
    name = "opsdesk"
    while isinstance(command, typer.core.TyperGroup) and args and not args[0].startswith("-"):
        sub = command.get_command(typer.Context(command), args[0])
        if sub is None:
            return [f"opsdesk has no command {args[0]!r}"]
        command, name, args = sub, args[0], args[1:]
    if args == ["--help"]:
        return []
    try:
        command.make_context(name, list(args)).close()
    except Exception as exc:  # typer's own click: its UsageError is not importable by name
        message = getattr(exc, "format_message", None)
        return [message() if callable(message) else repr(exc)]
    return []


def _temporal_problems(args: list[str]) -> list[str]:
    subcommand: list[str] = []
    for word in args:  # the words before the first option
        if word.startswith("-"):
            break
        subcommand.append(word)
    result = subprocess.run(
        [ROOT / VENV_BIN / "temporal", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        return [f"temporal refuses it: {result.stderr.strip()}"]
    usage = f"temporal {' '.join(subcommand)} [flags]"
    if usage not in result.stdout:  # an unknown subcommand shows its parent's help
        return [f"temporal has no command {' '.join(subcommand)!r}"]
    found = []
    if "--input" in args:
        found += _json_problems(args[args.index("--input") + 1])
    return found


@functools.cache
def _make_targets_ok(target: str) -> bool:
    result = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def _make_problems(args: list[str]) -> list[str]:
    targets = [a for a in args if not a.startswith("-") and "=" not in a]
    return [f"make has no target {t!r}" for t in targets if not _make_targets_ok(t)]


@functools.cache
def _openapi() -> dict[str, Any]:
    from opsdesk.app import create_app

    return create_app(Settings()).openapi()


def _curl_problems(args: list[str]) -> list[str]:
    method, body, urls = "GET", None, []
    words = iter(args)
    for word in words:
        if word in ("-X", "--request"):
            method = next(words)
        elif word in ("-d", "--data"):
            body = next(words)
            method = "POST" if method == "GET" else method
        elif word in ("-H", "--header"):
            next(words)
        elif not word.startswith("-"):
            urls.append(word)
    if len(urls) != 1:
        return [f"expected one URL, found {urls}"]
    path = urlsplit(urls[0] if "//" in urls[0] else f"//{urls[0]}").path
    openapi = _openapi()
    for template, operations in openapi["paths"].items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            operation = operations.get(method.lower())
            if operation is None:
                return [f"the API has no {method} {template}"]
            return [] if body is None else _body_problems(body, operation, openapi)
    return [f"the API has no route for {path}"]


def _body_problems(body: str, operation: dict[str, Any], openapi: dict[str, Any]) -> list[str]:
    found = _json_problems(body)
    if found:
        return found
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if schema is None:
        return ["the route takes no JSON body"]
    refs = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schema))
    if len(refs) != 1:
        return []
    model = openapi["components"]["schemas"][refs[0]]
    given = set(json.loads(body))
    unknown = given - set(model.get("properties", {}))
    missing = set(model.get("required", [])) - given
    return [f"{refs[0]} has no field {k!r}" for k in sorted(unknown)] + [
        f"{refs[0]} needs {k!r}" for k in sorted(missing)
    ]


def _json_problems(text: str) -> list[str]:
    try:
        json.loads(text)
    except ValueError as exc:
        return [f"invalid JSON ({exc}): {text[:60]}"]
    return []


def test_every_readme_command_runs_as_written() -> None:
    commands = readme_commands((ROOT / "README.md").read_text())
    programs = {c[0] for c in commands}
    # The parse found the README's commands (a changed fence would make this test vacuous).
    assert {"make", "curl", f"{VENV_BIN}opsdesk", f"{VENV_BIN}temporal"} <= programs
    assert [p for c in commands for p in problems(c)] == []


def test_every_setting_the_readme_names_exists() -> None:
    named = set(re.findall(r"\bOPSDESK_[A-Z][A-Z0-9_]*[A-Z0-9]", (ROOT / "README.md").read_text()))
    assert [p for name in sorted(named) for p in _setting_problems(name)] == []


def test_every_file_the_readme_links_or_names_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#:]+)\)", readme)
    named = re.findall(r"`((?:src|docs|tests|bench)/[^`\s]+)`", readme)
    assert links
    assert named
    assert [path for path in links + named if not (ROOT / path).exists()] == []


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("```sh\nuv run opsdesk load\n```\n", "uv is not on a fresh machine"),
        ("Run `opsdesk` with `uv run opsdesk --help`.\n", "uv is not on a fresh machine"),
        ("```sh\n.venv/bin/opsdesk lode\n```\n", "no command 'lode'"),
        ("```sh\n.venv/bin/opsdesk load --order 5\n```\n", "No such option"),
        ("```sh\n.venv/bin/opsdesk load --via carrier-pigeon\n```\n", "carrier-pigeon"),
        ("```sh\n.venv/bin/opsdesk catalog lst\n```\n", "no command 'lst'"),
        ("```sh\n.venv/bin/nope --help\n```\n", "not made by `make run`"),
        ("```sh\nOPSDESK_PROT=8100 make run\n```\n", "OPSDESK_PROT is not a setting"),
        ("```sh\nmake runn\n```\n", "no target 'runn'"),
        ("```sh\ncurl -X POST localhost:8000/api/orders/<id>/cancel\n```\n", "redirection"),
        ("```sh\ncurl localhost:8000/api/order\n```\n", "no route for /api/order"),
        ("```sh\ncurl -X DELETE localhost:8000/api/orders/7\n```\n", "no DELETE"),
        ("```sh\ncurl localhost:8000/api/orders -d '{\"lines\": []}'\n```\n", "needs 'customer'"),
        ("```sh\nT=.venv/bin/temporal\n$T workflow strat\n```\n", "no command 'workflow strat'"),
        ("```sh\n.venv/bin/temporal workflow list --limt 5\n```\n", "unknown flag"),
    ],
)
def test_a_command_that_would_not_run_is_named(markdown: str, problem: str) -> None:
    found = [p for c in readme_commands(markdown) for p in problems(c)]
    assert any(problem in p for p in found), found
