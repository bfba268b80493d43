"""The architecture's one-way data flow, checked on the source: providers import nothing from
the bot; grading and charts import nothing Slack-shaped; grading imports no charts or HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports(folder: str) -> dict[str, set[str]]:
    out = {}
    for path in (ROOT / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("providers", ("bot", "charts", "slack_bolt", "slack_sdk")),
        (
            "bot/grading",
            ("slack_bolt", "slack_sdk", "charts", "httpx", "bot.render", "bot.answers"),
        ),
        ("charts", ("slack_bolt", "slack_sdk", "bot.render", "bot.answers", "bot.messages")),
    ],
)
def test_imports_flow_one_way(folder, forbidden):
    found = {
        (module, name)
        for module, names in imports(folder).items()
        for name in names
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    }
    assert not found, sorted(found)
    # charts use grading only through its package, never its modules
    if folder == "charts":
        inner = {n for names in imports(folder).values() for n in names if n.startswith("bot.")}
        assert inner <= {"bot.grading"}, inner
