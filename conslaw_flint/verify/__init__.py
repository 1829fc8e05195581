"""The independent re-check of certificates (see :mod:`conslaw_flint.verify.checker`)."""

from .checker import (
    MAX_FILE_BYTES,
    CertificateError,
    Verdict,
    admissible,
    verify_certificate,
    verify_file,
)

__all__ = ["MAX_FILE_BYTES", "CertificateError", "Verdict", "admissible", "verify_certificate",
           "verify_file"]
