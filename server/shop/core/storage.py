"""Where the files the shop writes live: Django's storage API, on the local filesystem by default
and in S3-compatible object storage by configuration (settings: STORAGES["invoices"]).

The filesystem storage here replaces a file in one rename, so a reader (the web serving an
invoice while the worker writes it again) sees the old file or the new one, never half of one;
an object store's PUT already does."""

import os
import tempfile
from typing import Any

from django.core.files.storage import FileSystemStorage

# A store that does not answer, or answers with an error, as a storage backend raises it: OSError
# for the filesystem, botocore's errors for S3 (when django-storages' S3 backend is installed).
# FileNotFoundError (an OSError) is not among them for a reader: it means "not there", and is
# caught first.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # pragma: no cover - botocore comes with django-storages[s3], a dependency
    pass
else:
    STORAGE_ERRORS += (BotoCoreError, ClientError)


class AtomicFileSystemStorage(FileSystemStorage):
    """FileSystemStorage that writes a file beside its name and renames it into place: saving a
    name that exists replaces its file (the name is the file's identity, as an object's key is)."""

    def __init__(self, **options) -> None:
        super().__init__(**{**options, "allow_overwrite": True})

    def _save(self, name: str, content) -> str:
        path = self.path(name)
        directory, base = os.path.split(path)
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{base}.", delete=False) as tmp:
            try:
                for chunk in content.chunks():
                    tmp.write(chunk)
                tmp.flush()
                # mkstemp makes it 0600; the web may run as another user than the worker
                os.chmod(tmp.name, self.file_permissions_mode or 0o644)
                os.replace(tmp.name, path)
            except BaseException:
                os.unlink(tmp.name)
                raise
        return os.path.relpath(path, self.location).replace("\\", "/")


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str = "",
    region: str = "",
    timeout: float = 5.0,
    addressing_style: str = "auto",
) -> dict[str, Any]:
    """A STORAGES entry for an S3-compatible bucket (django-storages' S3Storage), private, whose
    objects are replaced when saved again, and whose requests give up after `timeout` seconds
    (twice at most) instead of botocore's 60 s x 5 tries: a store that does not answer costs a
    request or an attempt that long, and the web answers 503, the task retries later."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url or None,  # None: AWS itself
            "region_name": region or None,
            "file_overwrite": True,
            "default_acl": None,  # the bucket's own policy: private
            "client_config": Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"mode": "standard", "max_attempts": 2},
                signature_version="s3v4",
                # "path" for S3-compatible stores that serve every bucket on one host name
                s3={"addressing_style": addressing_style},
            ),
        },
    }
