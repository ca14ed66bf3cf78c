"""Settings come from COMPRIMEMELO_* variables, flags override, production is strict."""

import os
import stat

import pytest

from comprimemelo.settings import SettingsError, load_settings

STRONG = "Zq8vN3kP0xW7rT2mB5yH9cL4dF6gJ1sA"


def test_defaults_give_the_embedded_mode(tmp_path):
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.mode == "embedded"
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'comprimemelo.sqlite3'}"
    assert settings.effective_storage_url == (tmp_path / "files").resolve().as_uri()
    assert settings.queue_url == "local"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_environment_is_read_and_converted(tmp_path):
    settings = load_settings(
        {"COMPRIMEMELO_PORT": "9000", "COMPRIMEMELO_MAX_UPLOAD_BYTES": "1234",
         "COMPRIMEMELO_DATA_DIR": str(tmp_path), "COMPRIMEMELO_PUBLISH_TIMEOUT_SECONDS": "2.5"}
    )
    assert settings.port == 9000 and settings.max_upload_bytes == 1234
    assert settings.data_dir == tmp_path and settings.publish_timeout_seconds == 2.5


def test_a_flag_overrides_its_variable(tmp_path):
    settings = load_settings({"COMPRIMEMELO_PORT": "9000", "COMPRIMEMELO_DATA_DIR": str(tmp_path)}, port=7000)
    assert settings.port == 7000


def test_malformed_values_name_the_variable(tmp_path):
    with pytest.raises(SettingsError, match="COMPRIMEMELO_PORT"):
        load_settings({"COMPRIMEMELO_PORT": "eighty", "COMPRIMEMELO_DATA_DIR": str(tmp_path)})


def test_embedded_secret_key_is_created_once_and_kept_private(tmp_path):
    first = load_settings({}, data_dir=tmp_path).secret_key
    second = load_settings({}, data_dir=tmp_path).secret_key
    assert first == second and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600


@pytest.mark.parametrize("key", [None, "short", "a" * 64, "changeme" * 8])
def test_production_refuses_a_missing_or_weak_secret(tmp_path, key):
    environ = {"COMPRIMEMELO_MODE": "production", "COMPRIMEMELO_DATA_DIR": str(tmp_path)}
    if key:
        environ["COMPRIMEMELO_SECRET_KEY"] = key
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(environ)
    assert not (tmp_path / "secret_key").exists()


def test_production_accepts_a_strong_secret(tmp_path):
    settings = load_settings({"COMPRIMEMELO_MODE": "production", "COMPRIMEMELO_SECRET_KEY": STRONG}, data_dir=tmp_path)
    assert settings.production and settings.effective_log_format == "json"


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="MODE"):
        load_settings({"COMPRIMEMELO_MODE": "cloudy"}, data_dir=tmp_path)


def test_the_web_worker_class_is_gevent_unless_set_to_gthread(tmp_path):
    assert load_settings({}, data_dir=tmp_path).web_worker_class == "gevent"
    assert load_settings({"COMPRIMEMELO_WEB_WORKER_CLASS": "gthread"}, data_dir=tmp_path).web_worker_class == "gthread"
    with pytest.raises(SettingsError, match="COMPRIMEMELO_WEB_WORKER_CLASS"):
        load_settings({"COMPRIMEMELO_WEB_WORKER_CLASS": "sync"}, data_dir=tmp_path)


def test_the_pool_holds_a_connection_per_thread_unless_set(tmp_path):
    settings = load_settings({"COMPRIMEMELO_WEB_THREADS": "12", "COMPRIMEMELO_WORKER_CONCURRENCY": "3"}, data_dir=tmp_path)
    assert settings.effective_db_pool_size == 12
    settings = load_settings({"COMPRIMEMELO_WEB_THREADS": "2", "COMPRIMEMELO_WORKER_CONCURRENCY": "6"}, data_dir=tmp_path)
    assert settings.effective_db_pool_size == 8
    assert load_settings({"COMPRIMEMELO_DB_POOL_SIZE": "3"}, data_dir=tmp_path).effective_db_pool_size == 3
