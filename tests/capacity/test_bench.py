"""``capacity.bench`` on a tiny generated corpus, one run each: every format's core is
compared with its command-line tools. A missing tool is skipped on a laptop but fails in CI."""

from __future__ import annotations

import json
import os
import random

import pytest

from capacity import bench, report

TINY_BYTES = 128 * 1024


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    rng = random.Random(6)
    words = b"archive compress level ratio queue worker task upload format".split()
    (folder / "text.bin").write_bytes(b" ".join(rng.choice(words) for _ in range(TINY_BYTES // 6))[:TINY_BYTES])
    return folder


def _missing_references() -> list[str]:
    return [ref.command for ref in bench.REFERENCES if bench.missing_tools(ref)]


def test_missing_command_line_tools_fail_in_ci_only():
    missing = _missing_references()
    if os.environ.get("CI"):
        assert not missing, f"reference tools missing in CI: {missing}"
    elif missing:
        pytest.skip(f"reference tools missing (skipped outside CI): {missing}")


def test_bench_compares_the_core_with_each_tool_on_a_tiny_corpus(tiny_corpus, tmp_path):
    summary = bench.run_benchmark(["text"], None, repeats=1, threads=2, corpus_dir=tiny_corpus,
                                  require_tools=bool(os.environ.get("CI")))
    measured = {(row["format"], row["reference"].split()[0]) for row in summary["rows"]}
    skipped = {s["reference"] for s in summary["skipped"]}
    assert len(summary["rows"]) + len(skipped) == len(bench.REFERENCES)
    assert ("tar.gz", "tar") in measured or any("pigz" in s for s in skipped)
    for row in summary["rows"]:
        assert row["core_bytes"] > 0 and row["ref_bytes"] > 0
        assert row["core_ratio"] < 0.5, row  # the text corpus compresses
        assert row["speed_vs_ref"] > 0
        assert row["size_vs_ref"] == pytest.approx(row["core_bytes"] / row["ref_bytes"])
    summary.update(command="python -m capacity bench-compression --repeat 1", machine={"cores": 2}, notes=[])
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    page = report.write_report(tmp_path).read_text()
    assert "data:image/png;base64," in page and "speed core/ref" in page
    assert "| text | tar.zst | 3 |" in report.bench_markdown(summary)
