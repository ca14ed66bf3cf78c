"""The task-list cache answers only for the version a body was built at, within its byte budget."""

from comprimemelo.web.listcache import ListCache


def test_a_body_is_returned_only_for_its_version():
    cache = ListCache()
    cache.put("alice", 3, b"[1]")
    assert cache.get("alice", 3) == b"[1]"
    assert cache.get("alice", 4) is None  # the list changed since
    assert cache.get("bob", 3) is None


def test_a_newer_version_replaces_the_older_body():
    cache = ListCache()
    cache.put("alice", 3, b"[1]")
    cache.put("alice", 4, b"[1,2]")
    assert cache.get("alice", 3) is None and cache.get("alice", 4) == b"[1,2]"
    assert len(cache) == 1


def test_the_least_recently_used_bodies_go_first_past_the_byte_budget():
    cache = ListCache(max_bytes=10)
    cache.put("a", 1, b"aaaa")
    cache.put("b", 1, b"bbbb")
    assert cache.get("a", 1) == b"aaaa"  # now the most recently used
    cache.put("c", 1, b"cccc")
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) == b"aaaa" and cache.get("c", 1) == b"cccc"
    cache.put("huge", 1, b"x" * 11)  # larger than the whole budget: not kept
    assert cache.get("huge", 1) is None and len(cache) == 2
