"""LocalStorage: atomic, streaming, confined to its root."""

import io
import os
import time

import pytest

from comprimemelo.storage import ObjectNotFound, StorageError, open_storage
from comprimemelo.storage.local import LocalStorage


@pytest.fixture
def storage(tmp_path):
    return open_storage((tmp_path / "files").as_uri())


def test_put_and_get_round_trip(storage, tmp_path):
    assert storage.put_stream("tasks/a/original/0", io.BytesIO(b"hello")) == 5
    assert storage.exists("tasks/a/original/0")
    target = tmp_path / "out"
    storage.get_file("tasks/a/original/0", target)
    assert target.read_bytes() == b"hello"
    with storage.open("tasks/a/original/0") as handle:
        assert handle.read() == b"hello"


def test_a_failed_write_leaves_no_object_and_no_temp_file(storage):
    class Broken(io.RawIOBase):
        def readinto(self, buffer):
            raise OSError(5, "Input/output error")

    with pytest.raises(StorageError):
        storage.put_stream("tasks/a/original/0", Broken())
    assert not storage.exists("tasks/a/original/0")
    assert not [p for p in storage.root.rglob("*") if p.is_file()]


def test_missing_objects_raise_not_found(storage, tmp_path):
    with pytest.raises(ObjectNotFound):
        storage.open("tasks/nope")
    with pytest.raises(ObjectNotFound):
        storage.get_file("tasks/nope", tmp_path / "x")


def test_delete_is_idempotent_and_prunes_empty_folders(storage):
    storage.put_stream("tasks/a/original/0", io.BytesIO(b"x"))
    storage.delete("tasks/a/original/0")
    storage.delete("tasks/a/original/0")
    assert not (storage.root / "tasks").exists()
    assert storage.root.exists()


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "tasks/../../x", ".incoming/x"])
def test_keys_cannot_escape_the_root(storage, key):
    with pytest.raises(ValueError):
        storage.put_stream(key, io.BytesIO(b"x"))


def test_no_download_url_so_the_app_streams(storage):
    assert storage.download_url("k", "a.txt", "text/plain") is None
    assert isinstance(storage, LocalStorage)


def test_a_spooled_upload_is_linked_into_place_not_copied(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    with storage.spool() as spool:
        spool.write(b"uploaded bytes")
        spool.seek(0)
        assert storage.put_stream("tasks/abc/original/0", spool) == len(b"uploaded bytes")
        stored = storage.local_path("tasks/abc/original/0")
        assert os.stat(stored).st_ino == os.fstat(spool.fileno()).st_ino  # the same file
    assert stored.read_bytes() == b"uploaded bytes"  # closing the spool removed only its own name
    assert list((tmp_path / "files" / ".incoming").iterdir()) == []


def test_a_stream_that_is_not_this_storages_spool_is_copied(tmp_path):
    storage, other = LocalStorage(tmp_path / "files"), LocalStorage(tmp_path / "elsewhere")
    with other.spool() as spool:
        spool.write(b"from another root")
        spool.seek(0)
        storage.put_stream("k", spool)
        assert os.stat(storage.local_path("k")).st_ino != os.fstat(spool.fileno()).st_ino
    assert storage.local_path("k").read_bytes() == b"from another root"


def test_the_workers_files_are_linked_not_copied_on_the_same_file_system(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    storage.put_stream("tasks/a/original/0", io.BytesIO(b"original"))
    taken = tmp_path / "in-0"
    storage.get_file("tasks/a/original/0", taken)
    assert os.stat(taken).st_ino == os.stat(storage.local_path("tasks/a/original/0")).st_ino
    storage.put_stream("tasks/a/original/0", io.BytesIO(b"replaced"))  # stored files are replaced, not changed
    assert taken.read_bytes() == b"original"
    archive = tmp_path / "out.zip"
    archive.write_bytes(b"archive bytes")
    assert storage.put_file("tasks/a/compressed.zip", archive) == len(b"archive bytes")
    assert os.stat(archive).st_ino == os.stat(storage.local_path("tasks/a/compressed.zip")).st_ino
    archive.unlink()  # the worker's temporary folder goes away
    assert storage.local_path("tasks/a/compressed.zip").read_bytes() == b"archive bytes"
    assert list((tmp_path / "files" / ".incoming").iterdir()) == []


def test_the_workers_files_are_copied_where_links_are_refused(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path / "files")
    storage.put_stream("k", io.BytesIO(b"original"))

    def cross_device(*_args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    storage.get_file("k", tmp_path / "taken")
    archive = tmp_path / "out.zip"
    archive.write_bytes(b"archive bytes")
    assert storage.put_file("compressed", archive) == len(b"archive bytes")
    assert (tmp_path / "taken").read_bytes() == b"original"
    assert storage.local_path("compressed").read_bytes() == b"archive bytes"
    assert os.stat(archive).st_ino != os.stat(storage.local_path("compressed")).st_ino


def test_the_spool_sweep_removes_only_old_leftover_files(tmp_path):
    storage = LocalStorage(tmp_path / "files")
    incoming = tmp_path / "files" / ".incoming"
    with storage.spool():
        pass
    old, fresh, parts = incoming / "upload-left-by-a-killed-web", incoming / "upload-in-progress", incoming / "parts"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    parts.mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    os.utime(parts, (two_days_ago, two_days_ago))
    assert storage.sweep_spool(24 * 3600) == 1
    assert sorted(p.name for p in incoming.iterdir()) == ["parts", "upload-in-progress"]


def test_sweeping_a_storage_that_never_received_anything_is_a_no_op(tmp_path):
    assert LocalStorage(tmp_path / "never-used").sweep_spool(0) == 0


def test_under_gevent_an_uploads_fsync_runs_off_the_event_loop(tmp_path):
    """On a gevent web worker's loop, a long fsync would stall every other request of the process."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent('''
        import sys
        from gevent import monkey
        monkey.patch_all()
        import os
        native_id = monkey.get_original("threading", "get_native_id")
        synced_on = []
        real_fsync = os.fsync
        def fsync(fd):
            synced_on.append(native_id())
            real_fsync(fd)
        os.fsync = fsync
        from comprimemelo.storage.local import LocalStorage
        storage = LocalStorage(sys.argv[1])
        with storage.spool() as spooled:
            spooled.write(b"spooled upload")
            spooled.seek(0)
            storage.put_stream("a/spooled", spooled)
        storage.put_stream("a/copied", __import__("io").BytesIO(b"copied upload"))
        print(len(synced_on), all(thread != native_id() for thread in synced_on))
    ''')
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.split() == ["2", "True"], result.stderr
