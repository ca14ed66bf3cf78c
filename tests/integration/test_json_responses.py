"""JSON responses are encoded by orjson but read exactly as Flask's own encoder wrote them."""

import datetime as dt
import decimal
import json
import uuid

from flask import jsonify


def test_responses_keep_flasks_encoding(app):
    value = {"b": 1, "a": "ünïcode", "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
             "amount": decimal.Decimal("1.50"), "id": uuid.UUID(int=1)}
    with app.test_request_context():
        ours = jsonify(value)
        flasks = app.response_class(
            json.dumps(value, default=app.json.default, sort_keys=True, separators=(",", ":")) + "\n",
            mimetype="application/json",
        )
    assert ours.mimetype == "application/json"
    assert json.loads(ours.get_data()) == json.loads(flasks.get_data())
    assert list(json.loads(ours.get_data())) == sorted(["b", "a", "when", "amount", "id"])
    assert ours.get_data().endswith(b"\n")


def test_a_list_from_a_view_is_encoded_too(client, make_user, settings):
    from comprimemelo import tuning

    user = make_user()
    user.upload("naïve.txt", b"x", "zip")
    response = client.get("/api/tasks", headers=user.headers)
    assert response.json[0]["filename"] == "naïve.txt"
    # orjson writes UTF-8 as it is; Flask's own encoder (the plain path) escapes it.
    raw = "naïve.txt".encode() if tuning.enabled(settings, tuning.FLASK_ORJSON_RESPONSES) else b"na\\u00efve.txt"
    assert raw in response.data
