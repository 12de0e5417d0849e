"""How long kubeadm's certificates live, and the renewal window (`certificate_renewal_before`)
read as a duration: shared by the validation of the prop, the step and the provider."""
from __future__ import annotations

import datetime as _dt

from provisioners.core import duration

#: kubeadm's leaf and kubeconfig client certificates: one year (kubernetes v1.22
#: cmd/kubeadm/app/constants/constants.go CertificateValidity).
KUBEADM_VALIDITY = _dt.timedelta(days=365)
#: The admin credential's longest life (edge_constructs/credentials/identity.py says why).
ADMIN_MAX_VALIDITY = _dt.timedelta(days=90)
#: The shortest life of a certificate renewed in the window: the admin credential's. A window
#: as long renews it at every apply, so the window must be shorter. (`leaf_validity_days`
#: shorter than the window renews those leaves at every apply, as it always has: tests use it.)
SHORTEST_LIFE = min(KUBEADM_VALIDITY, ADMIN_MAX_VALIDITY)
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
