"""A CSV sent to the API: the `file` field of a multipart form, or the raw `text/csv` body."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from typing import BinaryIO, cast

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

SPOOL_BYTES = 1024 * 1024  # a raw body past this goes to a temporary file: memory stays bounded
CSV_TYPES = ("text/csv", "application/csv")


@contextlib.asynccontextmanager
async def csv_upload(request: Request, content_type: str) -> AsyncIterator[BinaryIO]:
    """The uploaded CSV as a binary file, read by the caller in a worker thread."""
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "multipart upload needs a file field named 'file'")
        yield upload.file
        return
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        yield cast(BinaryIO, spool)
