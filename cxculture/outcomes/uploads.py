"""Refusing an oversized upload before it is parsed or stored (DESIGN.md: 413 before parsing)."""

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict

# Room for the multipart envelope and the small form fields around the file.
_ENVELOPE_BYTES = 64 * 1024


class UploadLimitHandler(FileUploadHandler):
    """Put first among the upload handlers: stops a file as soon as it passes `max_bytes`.

    A body that announces more than the limit (plus the envelope) is not read at all; a file
    that turns out larger (chunked uploads, a lying Content-Length) is dropped at the chunk
    that crosses the limit, so no more than the limit is ever written to a temporary file.
    """

    def __init__(self, request: HttpRequest, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.exceeded = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > self.max_bytes + _ENVELOPE_BYTES:
            self.exceeded = True
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_bytes:
            self.exceeded = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload(request: HttpRequest, max_bytes: int) -> UploadLimitHandler:
    """Install the limit on `request`; call it before anything reads request.POST/FILES."""
    handler = UploadLimitHandler(request, max_bytes)
    request.upload_handlers.insert(0, handler)
    return handler
