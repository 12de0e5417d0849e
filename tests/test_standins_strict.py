"""The stand-ins are no more lenient than the real tools where the chain depends on them:
CSRs are approved only as kube-controller-manager's approver approves them, the kubelet's Node
is NotReady until flannel's install-cni has written a CNI config, `kubectl apply` validates as
kubectl 1.22 does. Sandboxed (STANDIN_ROOT) API server on loopback, as tests/test_standins.py."""
from __future__ import annotations

import base64
import json
import signal
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from simsite.standins import client, pki
from simsite.standins.kubelet import FLANNEL_CNI_CONF, NETWORK_NOT_READY
from tests.test_real_clients import _serve_cri, _start_kubelet, flannel_manifest
from tests.test_standins import init_phases, kubectl, kubelet_pods, master, pkg, run  # noqa: F401 (fixtures)

TOKEN = "abcdef.0123456789abcdef"  # tests/test_standins.py CFG's bootstrap token
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


def _server(root):
    kc = pki.parse_kubeconfig((root / "etc/kubernetes/admin.conf").read_text())
    return kc["server"], client.context(kc["ca"], kc["cert"], kc["key"]), client.context(kc["ca"])


def _csr(name, cn="system:node:edge1", orgs=("system:nodes",), signer="kubernetes.io/kube-apiserver-client-kubelet",
         usages=("digital signature", "key encipherment", "client auth"), dns=()):
    key = pki.new_key()
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs] + [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    if dns:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    pem = b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages)}}


def _approved(o):
    return [c["reason"] for c in (o.get("status") or {}).get("conditions") or [] if c["type"] == "Approved"]


def test_only_kubelet_client_csrs_of_permitted_requesters_are_approved_and_signed(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    server, admin, anon = _server(root)
    made = client.request(server, "POST", CSRS, anon, body=_csr("good"), token=TOKEN)
    assert made["spec"]["username"] == "system:bootstrap:abcdef"
    assert "system:bootstrappers:kubeadm:default-node-token" in made["spec"]["groups"]
    assert _approved(made) == ["AutoApproved"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(made["status"]["certificate"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:edge1"
    # not a kubelet client certificate: no recognizer matches, nothing signs it
    for name, kw in (("bad-org", {"orgs": ("system:masters",)}), ("bad-cn", {"cn": "admin"}),
                     ("bad-signer", {"signer": "kubernetes.io/kube-apiserver-client"}),
                     ("bad-usage", {"usages": ("digital signature", "key encipherment", "server auth")}),
                     ("bad-san", {"dns": ("edge1",)})):
        made = client.request(server, "POST", CSRS, anon, body=_csr(name, **kw), token=TOKEN)
        again = client.request(server, "GET", CSRS + "/" + name, admin)
        assert _approved(again) == [] and "certificate" not in again["status"], (name, again["status"])
    # a token whose groups have no autoapprove binding may create a CSR only if RBAC lets it;
    # without kubeadm's kubeadm:kubelet-bootstrap binding for its group it may not even create one
    rc, out, err = run(b, root, "edgeadm", "token", "create", "ghijkl.0123456789abcdef", "--groups",
                       "system:bootstrappers:other")
    assert rc == 0, err
    with pytest.raises(client.APIError) as no:
        client.request(server, "POST", CSRS, anon, body=_csr("other"), token="ghijkl.0123456789abcdef")
    assert no.value.status == 403
    rb = "rbac.authorization.k8s.io"
    client.request(server, "POST", "/apis/%s/v1/clusterrolebindings" % rb, admin, body={
        "apiVersion": rb + "/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "other-may-post-csrs"},
        "roleRef": {"apiGroup": rb, "kind": "ClusterRole", "name": "system:node-bootstrapper"},
        "subjects": [{"kind": "Group", "name": "system:bootstrappers:other"}]})
    made = client.request(server, "POST", CSRS, anon, body=_csr("other"), token="ghijkl.0123456789abcdef")
    assert _approved(made) == [] and "certificate" not in made["status"]  # recognized, but the review says no
    # a node renewing its own certificate: selfnodeclient through kubeadm's rotation binding
    kc = pki.parse_kubeconfig((root / "etc/kubernetes/kubelet.conf").read_text())  # system:node:master0, O system:nodes
    node_ctx = client.context(kc["ca"], kc["cert"], kc["key"])
    made = client.request(server, "POST", CSRS, node_ctx, body=_csr("renew", cn="system:node:master0"))
    assert [c["message"] for c in made["status"]["conditions"]] == [
        "Auto approving self kubelet client certificate after SubjectAccessReview."]
    assert made["status"]["certificate"]


def test_a_csr_that_does_not_decode_is_invalid(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    server, admin, _ = _server(root)
    body = _csr("junk")
    body["spec"]["request"] = base64.b64encode(b"not a request").decode()
    del body["spec"]["usages"]
    with pytest.raises(client.APIError) as bad:
        client.request(server, "POST", CSRS, admin, body=body)
    assert bad.value.status == 422
    assert bad.value.message == ('CertificateSigningRequest.certificates.k8s.io "junk" is invalid: [spec.request: Invalid '
                                 "value: []byte{...}: PEM block type must be CERTIFICATE REQUEST, spec.usages: Required value]")


def test_kubectl_apply_refuses_unknown_fields_as_kubectl_validates(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    docs = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first, namespace: default}\ndata: {a: '1'}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo, namespace: default, lables: {a: b}}\ndatas: {a: '1'}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after, namespace: default}\n")
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=docs)
    assert rc == 1
    assert err.strip() == (
        'error: error validating "STDIN": error validating data: [ValidationError(ConfigMap): unknown field "datas" in '
        'io.k8s.api.core.v1.ConfigMap, ValidationError(ConfigMap.metadata): unknown field "lables" in '
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta]; if you choose to ignore these errors, turn validation off with "
        "--validate=false")
    assert out.strip() == "configmap/first created"  # the stream stops at the invalid document
    rc, out, _ = kubectl(b, root, "get", "configmaps", "-o", "name")
    assert "configmap/typo" not in out.split() and "configmap/after" not in out.split()
    rb = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: r, namespace: default}\n"
          "subjects: [{kind: Group}]\n")
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=rb)
    assert rc == 1 and ('[ValidationError(RoleBinding.subjects[0]): missing required field "name" in io.k8s.api.rbac.v1.Subject, '
                        'ValidationError(RoleBinding): missing required field "roleRef" in io.k8s.api.rbac.v1.RoleBinding]') in err
    bad_type = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n, namespace: default}\ndata: {port: 6443}\n"
    rc, out, err = kubectl(b, root, "apply", "-f", "-", stdin=bad_type)
    assert rc == 1 and ('ValidationError(ConfigMap.data.port): invalid type for io.k8s.api.core.v1.ConfigMap.data: '
                        'got "integer", expected "string"') in err
    rc, out, err = kubectl(b, root, "apply", "--validate=false", "-f", "-", stdin=docs)
    assert rc == 0 and "configmap/typo created" in out, err


def _ready(server, ctx, name):
    try:
        n = client.request(server, "GET", "/api/v1/nodes/" + name, ctx)
    except client.APIError:
        return None
    return [c for c in n["status"]["conditions"] if c["type"] == "Ready"][0]


def _wait(what, check, limit=30.0):
    deadline = time.monotonic() + limit  # only stops a test that would hang
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail("gave up waiting for " + what)
        time.sleep(0.2)


def test_the_kubelet_is_not_ready_until_flannels_install_cni_writes_the_cni_config(master):
    b, root, cfg, _ = master
    init_phases(b, root, cfg)
    server, admin, _ = _server(root)
    cri = _serve_cri(root / "run/containerd/containerd.sock")
    kubelet = _start_kubelet(b, root, "n1", "a=b")
    try:
        cond = _wait("the Node", lambda: _ready(server, admin, "n1"))
        assert (cond["status"], cond["reason"], cond["message"]) == ("False", "KubeletNotReady", NETWORK_NOT_READY["remote"])
        assert cond["message"] == ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                                   "message:Network plugin returns error: cni plugin not initialized")
        time.sleep(2.5)  # heartbeats go on (STANDIN_KUBELET_HEARTBEAT=1): still NotReady
        assert _ready(server, admin, "n1")["status"] == "False"
        assert not (root / "etc/cni/net.d/10-flannel.conflist").exists()
        manifest = flannel_manifest()
        manifest[0]["data"]["cni-conf.json"] = manifest[0]["data"]["cni-conf.json"].replace("cbr0", "cbr-test")
        for path, obj in flannel_paths(manifest):
            client.request(server, "POST", path, admin, body=obj)
        cond = _wait("Ready", lambda: (_ready(server, admin, "n1") or {}).get("status") == "True" and _ready(server, admin, "n1"))
        assert (cond["reason"], cond["message"]) == ("KubeletReady", "kubelet is posting ready status")
        conf = json.loads((root / "etc/cni/net.d/10-flannel.conflist").read_text())
        assert conf["name"] == "cbr-test"  # copied from the ConfigMap, as install-cni copies it
        assert json.loads(FLANNEL_CNI_CONF)["plugins"][0]["type"] == "flannel"
    finally:
        kubelet.send_signal(signal.SIGTERM)
        kubelet.wait(timeout=10)
        cri.close()


def flannel_paths(manifest):
    cm, ds = manifest
    return [("/api/v1/namespaces/kube-system/configmaps", cm), ("/apis/apps/v1/namespaces/kube-system/daemonsets", ds)]


def test_the_network_is_ready_with_a_network_configuration_only(tmp_path, monkeypatch):
    """libcni's reading: a .conf/.conflist/.json that parses as one; dockershim without
    --network-plugin=cni needs none."""
    from simsite.standins import common, kubelet
    monkeypatch.setattr(common, "ROOT", str(tmp_path))
    net = tmp_path / "etc/cni/net.d"
    net.mkdir(parents=True)
    assert kubelet.network_error({}, "remote") == NETWORK_NOT_READY["remote"]
    assert kubelet.network_error({"network-plugin": "cni"}, "docker") == (
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
        "message:docker: network plugin is not ready: cni config uninitialized")
    assert kubelet.network_error({}, "docker") is None
    (net / "README").write_text("{}")
    (net / "10-x.conflist").write_text('{"name": "x", "plugins": []}')  # no plugins: not a network
    (net / "20-y.conf").write_text("not json")
    assert kubelet.network_error({}, "remote") == NETWORK_NOT_READY["remote"]
    (net / "30-z.conf").write_text('{"name": "z", "type": "bridge"}')
    assert kubelet.network_error({}, "remote") is None


def test_a_join_whose_csr_is_not_approved_fails_as_kubeadms_tls_bootstrap_wait(master, pkg, tmp_path, monkeypatch):
    b, root, cfg, port = master
    init_phases(b, root, cfg)
    server, admin, _ = _server(root)
    client.request(server, "DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeadm:node-autoapprove-bootstrap",
                   admin)
    monkeypatch.setenv("STANDIN_NODE_TIMEOUT", "2")
    node = tmp_path / "node"
    (node / "etc").mkdir(parents=True)
    rc, out, err = run(b, node, "edgeadm", "join", "127.0.0.1:%d" % port, "--install-pkg-path", str(pkg[0]),
                       "--enable-edge=false", "--skip-phases=init-node", "--node-name", "edge1", "--token", TOKEN,
                       "--discovery-token-unsafe-skip-ca-verification")
    assert rc == 1 and "error execution phase kubelet-start" in err and "timed out waiting for the condition" in err, err
    pending = client.request(server, "GET", CSRS, admin)["items"]
    assert [(c["spec"]["username"], _approved(c), "certificate" in c["status"]) for c in pending] == [
        ("system:bootstrap:abcdef", [], False)]
