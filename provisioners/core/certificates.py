"""How long kubeadm's certificates live, and the renewal window (`certificate_renewal_before`)
read as a duration: shared by the validation of the prop, the step and the provider."""
from __future__ import annotations

import datetime as _dt

from provisioners.core import duration

#: kubeadm's leaf and kubeconfig client certificates: one year (kubernetes v1.22
#: cmd/kubeadm/app/constants/constants.go CertificateValidity).
KUBEADM_VALIDITY = _dt.timedelta(days=365)
DEFAULT_WINDOW = "720h"
#: The explicit "renew every certificate now" window: longer than any certificate lives, so
#: every apply renews them all while it is set (set it for one apply, then remove it).
RENEW_NOW = "renew-now"
_RENEW_NOW_WINDOW = _dt.timedelta(days=36500)


def renewal_window(text: str) -> _dt.timedelta:
    """`certificate_renewal_before` as a duration (validated at synth: a Go duration up to a
    certificate's life, or "renew-now")."""
    if text == RENEW_NOW:
        return _RENEW_NOW_WINDOW
    return _dt.timedelta(microseconds=duration.parse(text) // 1000)
