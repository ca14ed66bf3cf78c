"""The README's two commands stay true: CI runs exactly the test command."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    blocks, inside = [], False
    for line in lines:
        if line.startswith("```"):
            inside = not inside
            continue
        if inside and line.strip() and not line.startswith("#"):
            blocks.append(line.strip())
        if len(blocks) == 2:
            break
    return blocks


def test_readme_opens_with_the_serve_and_test_commands():
    serve, test = readme_commands()
    assert "comprimemelo serve" in serve and serve.startswith("pip install")
    assert "pytest" in test and "pip install -e '.[test]'" in test


def test_ci_runs_exactly_the_readme_test_command():
    _, test = readme_commands()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test in ci_lines
