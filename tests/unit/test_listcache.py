"""The task-list cache answers only for the version a body was built at, within its byte budget."""

from comprimemelo.web.listcache import ListBody, ListCache


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
