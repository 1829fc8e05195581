"""The independent re-check of certificates (see :mod:`conslaw_flint.verify.checker`).

The verifier re-derives every claim of a certificate with SymPy's polynomial rings and domain
matrices, sharing only the model builders and the safe expression reader with the solver:

* :mod:`~conslaw_flint.verify.checker` -- reading the file, the checks, the public API;
* :mod:`~conslaw_flint.verify._model` -- the model rebuilt, its generators as SymPy data;
* :mod:`~conslaw_flint.verify._lie` -- bracket words, values at the point, Taylor jets;
* :mod:`~conslaw_flint.verify._laws` -- the laws and the identities <grad h, X_i> = 0;
* :mod:`~conslaw_flint.verify._involutive` -- the involutivity identities;
* :mod:`~conslaw_flint.verify._algebra` -- SymPy rings, evaluation, determinants;
* :mod:`~conslaw_flint.verify._base` -- the work budget and the rejection type.
"""

from .checker import (
    MAX_FILE_BYTES,
    CertificateError,
    Verdict,
    admissible,
    digest_of,
    verify_certificate,
    verify_file,
)

__all__ = ["MAX_FILE_BYTES", "CertificateError", "Verdict", "admissible", "digest_of",
           "verify_certificate", "verify_file"]
