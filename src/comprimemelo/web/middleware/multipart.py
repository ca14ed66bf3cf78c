"""Multipart parsing in large reads: uploads are the web tier's heaviest work.

Werkzeug's parser reads the body 64 KiB at a time; under gunicorn each of
those reads is assembled from small socket reads, which made the parser most
of a web worker's time on a big upload. 256 KiB reads took a 1 GiB upload on
loopback from about 150 to about 187 MB/s here; larger ones gained nothing and
must stay under Flask's form-memory limit (500 kB), which bounds the decoder's
buffer. The parts still go to temporary files, not memory: the storage's
spool, which local storage adopts without a copy.
"""

from __future__ import annotations

from flask import Request, current_app
from werkzeug.formparser import FormDataParser, MultiPartParser

from comprimemelo.storage import StorageError
from comprimemelo.web.context import BACKENDS

MULTIPART_READ_BYTES = 256 * 1024


class _LargeReadFormDataParser(FormDataParser):
    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = MultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
            buffer_size=MULTIPART_READ_BYTES,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class UploadRequest(Request):
    """File parts spooled where storage adopts them; failures to spool a 503."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        """File parts go to the storage's spool: local storage then links the
        finished file into place instead of copying it (a 2 GiB upload is
        written to disk once)."""
        return current_app.extensions[BACKENDS].storage.spool()

    def _load_form_data(self) -> None:
        """A spool that cannot be written (full disk) is the storage failing: 503."""
        try:
            super()._load_form_data()
        except OSError as error:
            if isinstance(error, ConnectionError):  # the client went away
                raise
            raise StorageError(f"cannot receive the upload: {error.strerror or error}") from error


class LargeReadRequest(UploadRequest):
    """``UploadRequest`` parsing multipart bodies in ``MULTIPART_READ_BYTES`` reads
    (``tuning.WERKZEUG_LARGE_MULTIPART_READS``)."""

    form_data_parser_class = _LargeReadFormDataParser
