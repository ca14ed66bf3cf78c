"""The dashboard's formatting filters (the JavaScript mirrors their wording)."""

import datetime as dt

import pytest

from comprimemelo.web.ui.pages import filesize, reltime, saving

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    "size, text",
    [(None, "—"), (0, "0 B"), (999, "999 B"), (1500, "1.5 KB"), (310_000, "310 KB"),
     (5_200_000, "5.2 MB"), (2 * 1024**3, "2.1 GB"), (10**16, "10000 TB")],
)
def test_filesize_is_human_readable(size, text):
    assert filesize(size) == text


@pytest.mark.parametrize(
    "original, compressed, text",
    [(1000, None, ""), (0, 0, ""), (1000, 370, "−63%"), (1000, 1000, "+0%"), (1000, 1020, "+2%")],
)
def test_saving_is_the_change_in_size(original, compressed, text):
    assert saving({"size_original": original, "size_compressed": compressed}) == text


@pytest.mark.parametrize(
    "ago, text",
    [(dt.timedelta(seconds=5), "just now"), (dt.timedelta(seconds=50), "1 minute ago"),
     (dt.timedelta(minutes=5), "5 minutes ago"), (dt.timedelta(hours=1), "1 hour ago"),
     (dt.timedelta(hours=3, minutes=10), "3 hours ago"), (dt.timedelta(days=2), "2 days ago")],
)
def test_reltime_says_how_long_ago(ago, text):
    iso = (NOW - ago).isoformat().replace("+00:00", "Z")
    assert reltime(iso, now=NOW) == text


def test_reltime_of_nothing_is_empty():
    assert reltime(None) == ""
