"""The task-list cache answers only for the version a body was built at, within its byte budget."""

from comprimemelo.web.tasklists import ListBody, ListCache


def test_the_entity_tag_names_the_bytes():
    assert ListBody.of(b"[1]").etag == ListBody.of(b"[1]").etag != ListBody.of(b"[2]").etag


def test_a_body_is_returned_only_for_its_version():
    cache = ListCache()
    cache.put("alice", 3, ListBody.of(b"[1]"))
    assert cache.get("alice", 3).body == b"[1]"
    assert cache.get("alice", 4) is None  # the list changed since
    assert cache.get("bob", 3) is None


def test_a_newer_version_replaces_the_older_body():
    cache = ListCache()
    cache.put("alice", 3, ListBody.of(b"[1]"))
    cache.put("alice", 4, ListBody.of(b"[1,2]"))
    assert cache.get("alice", 3) is None and cache.get("alice", 4).body == b"[1,2]"
    assert len(cache) == 1


def test_the_least_recently_used_bodies_go_first_past_the_byte_budget():
    cache = ListCache(max_bytes=10)
    cache.put("a", 1, ListBody.of(b"aaaa"))
    cache.put("b", 1, ListBody.of(b"bbbb"))
    assert cache.get("a", 1).body == b"aaaa"  # now the most recently used
    cache.put("c", 1, ListBody.of(b"cccc"))
    assert cache.get("b", 1) is None
    assert cache.get("a", 1).body == b"aaaa" and cache.get("c", 1).body == b"cccc"
    cache.put("huge", 1, ListBody.of(b"x" * 11))  # larger than the whole budget: not kept
    assert cache.get("huge", 1) is None and len(cache) == 2


def test_an_answer_is_304_only_for_the_lists_own_tag():
    from comprimemelo.web.tasklists import answer

    listed = ListBody.of(b"[1]")
    assert answer(listed, None).status == 200
    assert answer(listed, '"someone-elses"').status == 200
    assert answer(listed, f'W/"{listed.etag}"').status == answer(listed, f'"x", "{listed.etag}"').status == 304
    assert answer(listed, None).headers["ETag"] == f'"{listed.etag}"'


def test_lists_are_filed_by_owner_query_mount_and_version():
    from comprimemelo.web.tasklists import Query, TaskLists

    lists = TaskLists()
    stored = lists.store(1, Query(20, 1), "", 5, b"[1]")
    assert lists.lookup(1, Query(20, 1), "", 5) == stored
    for other in ((2, Query(20, 1), "", 5), (1, Query(20, 0), "", 5), (1, Query(20, 1), "/app", 5),
                  (1, Query(20, 1), "", 6)):
        assert lists.lookup(*other) is None
