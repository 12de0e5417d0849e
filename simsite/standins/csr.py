"""CertificateSigningRequests as kube-apiserver and kube-controller-manager (1.22) handle them.

Sources (kubernetes v1.22):
* create: `pkg/registry/certificates/certificates/strategy.go` (PrepareForCreate: the requester's
  username, uid and groups are written into `spec`, `status` is cleared) and
  `pkg/apis/certificates/validation/validation.go` (request must be a PEM CERTIFICATE REQUEST,
  signerName and usages are required);
* approval: `pkg/controller/certificates/approver/sarapprove.go`: a CSR is approved only when a
  recognizer matches it AND a SubjectAccessReview of the requester allows `create` on
  `certificatesigningrequests/nodeclient` (isNodeClientCert) or, when the requester is the
  node itself (spec.username == the subject's CN), `certificatesigningrequests/selfnodeclient`
  (isSelfNodeClientCert); the recognizers need signer `kubernetes.io/kube-apiserver-client-kubelet`
  and `ValidateKubeletClientCSR` (`pkg/apis/certificates/helpers.go`): O exactly
  [`system:nodes`], CN `system:node:<name>`, no DNS/email/IP/URI SANs, usages exactly
  {digital signature, key encipherment, client auth} or {digital signature, client auth}.
  Anything else stays pending (never approved, never signed);
* signing: `pkg/controller/certificates/signer/signer.go`: only approved CSRs of the signer are
  signed; one that fails the signer's own check gets a `Failed` condition
  (`SignerValidationFailure`).
The RBAC roles the review uses are kube-apiserver's bootstrap policy
(`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`), the bindings those kubeadm's
bootstrap-token phase creates (`cmd/kubeadm/app/phases/bootstraptoken/node/tlsbootstrap.go`).
"""
import base64
import time

from cryptography import x509

from . import pki, store
from .common import read

KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
GROUP = "certificates.k8s.io"
#: ValidateKubeletClientCSR's two accepted usage sets.
KUBELET_CLIENT_USAGES = ({"digital signature", "key encipherment", "client auth"}, {"digital signature", "client auth"})
RBAC = "rbac.authorization.k8s.io"
#: The bootstrap policy's cluster roles the TLS bootstrap depends on (kube-apiserver creates
#: them when it starts: the `rbac/bootstrap-roles` post-start hook).
BOOTSTRAP_CLUSTER_ROLES = {
    "system:node-bootstrapper": [{"apiGroups": [GROUP], "resources": ["certificatesigningrequests"],
                                  "verbs": ["create", "get", "list", "watch"]}],
    "system:certificates.k8s.io:certificatesigningrequests:nodeclient": [
        {"apiGroups": [GROUP], "resources": ["certificatesigningrequests/nodeclient"], "verbs": ["create"]}],
    "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient": [
        {"apiGroups": [GROUP], "resources": ["certificatesigningrequests/selfnodeclient"], "verbs": ["create"]}],
}


def ensure_bootstrap_roles(data):
    for name, rules in BOOTSTRAP_CLUSTER_ROLES.items():
        k = store.key(RBAC, "clusterroles", "", name)
        if k not in data["objects"]:
            data["objects"][k] = store.stamp(data, {
                "apiVersion": RBAC + "/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                             "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
                "rules": rules})


def invalid(body):
    """The validation of a create: (code, reason, message) or None; a parsed request otherwise
    is returned as the second item."""
    name = (body.get("metadata") or {}).get("name", "")
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    head = 'CertificateSigningRequest.certificates.k8s.io "%s" is invalid: ' % name
    errs = []
    req = None
    try:
        pem = base64.b64decode(spec.get("request") or "")
        if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
            raise ValueError
        req = x509.load_pem_x509_csr(pem)
    except ValueError:
        errs.append("spec.request: Invalid value: []byte{...}: PEM block type must be CERTIFICATE REQUEST")
    if not spec.get("signerName"):
        errs.append("spec.signerName: Required value")
    if not spec.get("usages"):
        errs.append("spec.usages: Required value")
    if errs:
        msg = head + (errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]")
        return (422, "Invalid", msg), None
    return None, req


def prepare_for_create(body, user, groups):
    spec = body["spec"]
    spec["username"] = user
    spec["groups"] = list(groups)
    body["status"] = {}
    return body


def _kubelet_client_problem(req, usages):
    """ValidateKubeletClientCSR: None when the request is a kubelet client certificate."""
    orgs = [a.value for a in req.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)]
    if orgs != ["system:nodes"]:
        return "subject organization is not system:nodes"
    try:
        sans = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        sans = []
    for typ, what in ((x509.DNSName, "DNS"), (x509.RFC822Name, "Email"), (x509.IPAddress, "IP"),
                      (x509.UniformResourceIdentifier, "URI")):
        if sans and sans.get_values_for_type(typ):
            return "%s subjectAltNames are not allowed" % what
    cns = req.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    if not cns or not cns[0].value.startswith("system:node:"):
        return 'subject common name does not begin with "system:node:"'
    if set(usages or ()) not in KUBELET_CLIENT_USAGES or len(set(usages)) != len(usages):
        return "usages did not match [client auth digital signature key encipherment]"
    return None


def _cn(req):
    cns = req.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)
    return cns[0].value if cns else ""


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _condition(csr, typ):
    return any(c.get("type") == typ and c.get("status", "True") == "True"
               for c in (csr.get("status") or {}).get("conditions") or [])


def run_controllers(data, allows):
    """One pass of the approver and the kubelet-client signer over every CSR; `allows(user,
    groups, subresource)` is the SubjectAccessReview. Returns True when anything changed."""
    changed = False
    for k, csr in list(data["objects"].items()):
        if not k.startswith(GROUP + "|certificatesigningrequests|"):
            continue
        approved = approve(csr, allows)
        if sign(csr) or approved:
            data["objects"][k] = store.stamp(data, csr, csr)
            changed = True
    return changed


def approve(csr, allows):
    """sarApprover.handle: True when it approved the CSR."""
    st = csr.setdefault("status", {})
    if st.get("certificate") or _condition(csr, "Approved") or _condition(csr, "Denied"):
        return False
    spec = csr.get("spec") or {}
    try:
        req = x509.load_pem_x509_csr(base64.b64decode(spec.get("request", "")))
    except ValueError:
        return False
    if spec.get("signerName") != KUBELET_CLIENT_SIGNER or _kubelet_client_problem(req, spec.get("usages")):
        return False  # no recognizer: left to a human (kubectl certificate approve)
    user, groups = spec.get("username"), spec.get("groups") or []
    tries = []
    if user == _cn(req):
        tries.append(("selfnodeclient", "Auto approving self kubelet client certificate after SubjectAccessReview."))
    tries.append(("nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview."))
    for sub, message in tries:
        if allows(user, groups, "certificatesigningrequests/" + sub):
            t = _now()
            st.setdefault("conditions", []).append({"type": "Approved", "status": "True", "reason": "AutoApproved",
                                                    "message": message, "lastUpdateTime": t, "lastTransitionTime": t})
            return True
    return False  # recognized, but the requester may not: stays pending


def sign(csr):
    """The kube-apiserver-client-kubelet signer: True when it signed (or failed) the CSR."""
    spec, st = csr.get("spec") or {}, csr.setdefault("status", {})
    if spec.get("signerName") != KUBELET_CLIENT_SIGNER or st.get("certificate") or not _condition(csr, "Approved") \
            or _condition(csr, "Failed"):
        return False
    req = x509.load_pem_x509_csr(base64.b64decode(spec["request"]))
    problem = _kubelet_client_problem(req, spec.get("usages"))
    if problem:
        t = _now()
        st.setdefault("conditions", []).append({"type": "Failed", "status": "True", "reason": "SignerValidationFailure",
                                                "message": problem, "lastUpdateTime": t, "lastTransitionTime": t})
        return True
    ca_cert = pki.load_cert(read(pki.PKI + "/ca.crt"))
    ca_key = pki.load_key(read(pki.PKI + "/ca.key"))
    orgs = [a.value for a in req.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)]
    cert, _ = pki.sign(ca_cert, ca_key, _cn(req), orgs, pub=req.public_key())
    st["certificate"] = base64.b64encode(pki.cert_pem(cert).encode()).decode()
    return True
