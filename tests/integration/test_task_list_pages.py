"""``GET /api/tasks`` a page at a time: the ``Link: <...>; rel="next"`` cursor,
the status and format filters and the file-name search, on each database,
through the app (its fast path in front of Flask included)."""

import io
import re

import pytest
import sqlalchemy as sa

from comprimemelo.domain.models import Task
from comprimemelo.web.tasklists import MAX_SEARCH_CHARS, cursor_for

NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


def next_url(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    found = NEXT.match(link)
    assert found, link
    return found.group(1)


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.data
    return [task["id"] for task in response.json]


def every_page(user, url: str) -> list[list[int]]:
    pages = []
    while url is not None:
        response = user.client.get(url, headers=user.headers)
        pages.append(ids_of(response))
        url = next_url(response)
    return pages


def uploads(user, count: int, name: str = "file{}.txt", fmt: str = "zip") -> list[int]:
    return [user.upload(name.format(i), b"x", fmt).json["id"] for i in range(count)]


def delete(user, task_id: int) -> None:
    assert user.client.delete(f"/api/tasks/{task_id}", headers=user.headers).status_code == 204


@pytest.mark.parametrize("order", ["0", "1"])
def test_pages_cover_every_task_once_in_order(make_user, order):
    user = make_user()
    ids = uploads(user, 7)
    pages = every_page(user, f"/api/tasks?max=3&order={order}")
    expected = ids if order == "0" else ids[::-1]
    assert pages == [expected[:3], expected[3:6], expected[6:]]


def test_a_list_that_fits_has_no_next_link_and_keeps_its_shape(make_user):
    user = make_user()
    ids = uploads(user, 3)
    response = user.client.get("/api/tasks?max=3", headers=user.headers)
    assert ids_of(response) == ids and "Link" not in response.headers
    assert "Link" not in user.client.get("/api/tasks", headers=user.headers).headers


def test_pages_stay_exact_while_tasks_are_added_and_deleted_between_them(make_user):
    user = make_user()
    ids = uploads(user, 6)
    first = user.client.get("/api/tasks?max=2", headers=user.headers)
    assert ids_of(first) == ids[:2]
    delete(user, ids[0])  # already seen
    delete(user, ids[3])  # not yet seen: it must not appear
    added = uploads(user, 2, "late{}.txt")  # after the cursor: they must appear
    second = user.client.get(next_url(first), headers=user.headers)
    assert ids_of(second) == [ids[2], ids[4]]
    rest = every_page(user, next_url(second))
    seen = ids_of(first) + ids_of(second) + [i for page in rest for i in page]
    assert seen == [ids[0], ids[1], ids[2], ids[4], ids[5], *added]
    assert len(seen) == len(set(seen))


def test_newest_first_pages_skip_tasks_added_after_the_first_and_lose_none(make_user):
    user = make_user()
    ids = uploads(user, 5)
    first = user.client.get("/api/tasks?max=2&order=1", headers=user.headers)
    uploads(user, 2, "new{}.txt")  # newer than the first page: a fresh list shows them
    delete(user, ids[2])
    rest = every_page(user, next_url(first))
    assert ids_of(first) + [i for page in rest for i in page] == [ids[4], ids[3], ids[1], ids[0]]


def test_status_and_format_filter_the_list_and_its_pages(make_user, services):
    user = make_user()
    zips = uploads(user, 3, fmt="zip")
    tars = uploads(user, 3, fmt="tar.gz")
    with services.sessions() as session:
        session.execute(sa.update(Task).where(Task.id.in_([zips[1], tars[2]])).values(status="failed"))
        session.commit()
    get = lambda url: ids_of(user.client.get(url, headers=user.headers))  # noqa: E731
    assert get("/api/tasks?format=zip") == zips
    assert get("/api/tasks?format=.TAR.GZ") == tars  # as lenient as an upload's format
    assert get("/api/tasks?status=failed") == [zips[1], tars[2]]
    assert get("/api/tasks?status=uploaded&format=tar.gz") == tars[:2]
    assert every_page(user, "/api/tasks?max=1&format=zip&status=uploaded") == [[zips[0]], [zips[2]]]


def test_search_is_a_case_insensitive_substring_of_any_file_name(make_user):
    user = make_user()
    report = user.upload("Quarterly-REPORT.pdf", b"x").json["id"]
    other = user.upload("notes.txt", b"x").json["id"]
    both = user.client.post(
        "/api/tasks",
        data={"fileName": [(io.BytesIO(b"x"), "a.txt"), (io.BytesIO(b"y"), "report-2.txt")],
              "newFormat": "zip"},
        headers=user.headers, content_type="multipart/form-data",
    ).json["id"]
    get = lambda url: ids_of(user.client.get(url, headers=user.headers))  # noqa: E731
    assert get("/api/tasks?search=report") == [report, both]
    assert get("/api/tasks?search=NOTES") == [other]
    assert get("/api/tasks?search=nothing-like-it") == []
    assert every_page(user, "/api/tasks?max=1&search=rEpOrT&order=1") == [[both], [report]]


@pytest.mark.parametrize("search, matches", [("%", ["100%.txt"]), ("_", ["a_b.txt"]), ("A_B", ["a_b.txt"]),
                                             ("/", []), ("0%.", ["100%.txt"]), ("XB", ["axb.txt"])])
def test_search_takes_like_wildcards_as_letters(make_user, search, matches):
    user = make_user()
    names = ["100%.txt", "a_b.txt", "axb.txt", "plain.txt"]
    ids = {name: user.upload(name, b"x").json for name in names}
    listed = user.client.get("/api/tasks", query_string={"search": search}, headers=user.headers)
    assert [task["filename"] for task in listed.json] == [ids[name]["filename"] for name in matches]


def test_search_finds_names_beyond_ascii(make_user):
    """(Only ASCII letters fold case on SQLite, whose lower() is ASCII's.)"""
    user = make_user()
    stored = user.upload("día_1.txt", b"x").json
    listed = user.client.get("/api/tasks", query_string={"search": "DíA_"}, headers=user.headers)
    assert [task["id"] for task in listed.json] == [stored["id"]]


@pytest.mark.parametrize(
    "query",
    [
        "cursor=x", "cursor=%21%21", "cursor=MTo0Mg==", "cursor=OTo0Mg", "cursor=MTo5OTk5OTk5OTk5",
        "cursor=%C3%A9", "cursor=" + cursor_for(1, 5),  # a descending list's cursor on an ascending list
        "status=done", "format=rar", "search=" + "a" * (MAX_SEARCH_CHARS + 1), "search=a%00b", "search=%E2%80%8B",
    ],
)
def test_bad_cursors_and_filters_are_400_json(make_user, query):
    user = make_user()
    uploads(user, 2)
    response = user.client.get(f"/api/tasks?{query}", headers=user.headers)
    assert response.status_code == 400, response.data
    assert response.json["error"]["code"] == "invalid_query"


def test_another_users_cursor_shows_only_the_callers_tasks(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    alices = uploads(alice, 4)
    bobs = uploads(bob, 2)
    alice_next = next_url(alice.client.get("/api/tasks?max=1", headers=alice.headers))
    assert ids_of(bob.client.get(alice_next, headers=bob.headers)) == bobs[:1]  # the link keeps max=1
    forged = f"/api/tasks?cursor={cursor_for(0, 1)}"
    assert set(ids_of(bob.client.get(forged, headers=bob.headers))) <= set(bobs)


def test_each_page_and_filter_has_its_own_entity_tag(make_user):
    user = make_user()
    uploads(user, 4)
    urls = ["/api/tasks?max=2", "/api/tasks?max=2&order=1", "/api/tasks?format=zip&max=2",
            "/api/tasks?search=file1", "/api/tasks?status=failed"]
    first = user.client.get(urls[0], headers=user.headers)
    urls.append(next_url(first))
    tags = {}
    for url in urls:
        response = user.client.get(url, headers=user.headers)
        tags[url] = response.headers["ETag"]
        again = user.client.get(url, headers={**user.headers, "If-None-Match": tags[url]})
        assert again.status_code == 304 and again.headers.get("Link") == response.headers.get("Link")
    assert len(set(tags.values())) == len(urls)
    stale = user.client.get(urls[0], headers={**user.headers, "If-None-Match": tags[urls[1]]})
    assert stale.status_code == 200


def test_a_page_changes_its_entity_tag_when_a_task_on_it_changes(make_user):
    user = make_user()
    ids = uploads(user, 3)
    url = "/api/tasks?max=2&search=file"
    tag = user.client.get(url, headers=user.headers).headers["ETag"]
    delete(user, ids[1])
    changed = user.client.get(url, headers={**user.headers, "If-None-Match": tag})
    assert changed.status_code == 200 and ids_of(changed) == [ids[0], ids[2]]
    assert "Link" not in changed.headers


def test_next_links_keep_the_mount_prefix(app, make_user):
    user = make_user()
    uploads(user, 2)
    response = user.client.get("/api/tasks?max=1", headers=user.headers, environ_overrides={"SCRIPT_NAME": "/svc"})
    assert next_url(response).startswith("/svc/api/tasks?max=1&cursor=")
