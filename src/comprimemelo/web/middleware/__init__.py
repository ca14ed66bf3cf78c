"""What runs around every request: body limits, the error shape, the request
id, access log and metrics, rate limits, JSON and multipart parsing, and the
task list's fast path in front of Flask."""
