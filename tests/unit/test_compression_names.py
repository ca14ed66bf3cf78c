"""Archive names: untrusted upload names made safe, duplicates told apart."""

from __future__ import annotations

import pytest

from comprimemelo.compression import sanitize_arcname, unique_arcnames


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("C:\\evil\\x.txt", "x.txt"),
        ("a\x00b\x1f.txt", "ab.txt"),
        ("nul\x00", "nul"),
        ("\x00", "file"),
        ("..", "file"),
        ("dir/..", "file"),
        (".", "file"),
        ("", "file"),
        ("   ", "file"),
        (".bashrc", ".bashrc"),
        ("résumé ñandú.txt", "résumé ñandú.txt"),
        ("e\u0301.txt", "\u00e9.txt"),
        ("right\u202etxt.exe", "righttxt.exe"),
    ],
)
def test_sanitize_arcname_keeps_one_safe_component(raw, expected):
    assert sanitize_arcname(raw) == expected


@pytest.mark.parametrize("stem", ["x" * 1000, "ñ" * 1000, "✓" * 999])
def test_long_names_are_cut_to_255_bytes_keeping_the_extension(stem):
    name = sanitize_arcname(stem + ".pdf")
    assert len(name.encode()) <= 255 and len(name.encode()) > 250
    assert name.endswith(".pdf") and name.startswith(stem[0])


def test_a_name_without_an_extension_is_cut_too():
    assert sanitize_arcname("y" * 1000) == "y" * 255


def test_duplicate_names_are_disambiguated_ignoring_case():
    assert unique_arcnames(["a.txt", "A.txt", "dir/a.txt", "b.tar.gz", "b.tar.gz", ".env", ".env", "", ".."]) == [
        "a.txt", "A (1).txt", "a (2).txt", "b.tar.gz", "b (1).tar.gz", ".env", ".env (1)", "file", "file (1)",
    ]


def test_long_duplicate_names_stay_within_255_bytes_and_distinct():
    names = unique_arcnames(["z" * 400 + ".txt"] * 12)
    assert len(set(names)) == 12
    assert all(len(name.encode()) <= 255 and name.endswith(".txt") for name in names)
    assert names[11].endswith(" (11).txt")


def test_a_numbered_name_already_taken_is_skipped():
    assert unique_arcnames(["a (1).txt", "a.txt", "a.txt"]) == ["a (1).txt", "a.txt", "a (2).txt"]
