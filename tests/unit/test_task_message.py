"""Queue messages are small JSON documents, validated on the way in."""

import pytest

from comprimemelo.queue import MalformedMessage, TaskMessage


def test_round_trips_as_json():
    message = TaskMessage(task_id=42, format="tar.zst")
    assert message.to_json() == b'{"task_id":42,"format":"tar.zst"}'
    assert TaskMessage.from_json(message.to_json()) == message


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[]", b'{"task_id": "42", "format": "zip"}', b'{"task_id": true, "format": "zip"}',
     b'{"format": "zip"}', b"\x80\x04\x95 pickle", b'{"task_id": 1, "format": "zip", "sealed_password": 7}'],
)
def test_anything_else_is_malformed(body):
    with pytest.raises(MalformedMessage):
        TaskMessage.from_json(body)


def test_a_sealed_password_round_trips_and_never_shows_in_repr():
    message = TaskMessage(task_id=7, format="zip", sealed_password="gAAAA-sealed")
    assert TaskMessage.from_json(message.to_json()) == message
    assert "gAAAA" not in repr(message)
