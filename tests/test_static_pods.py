"""The control plane as static pods (issue 17): kubeadm 1.22's certificates on master 0 and a
joining master, the kubelet's static pods starting, stopping and restarting with their
manifests (a restarted process serves the certificate now on disk), etcd's /health, two
masters sharing one etcd store, and kube-apiserver's answers while its etcd member is down.
Local STANDIN_ROOT sandboxes, no site, no Terraform."""
import datetime
import json
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU, NameOID

from simsite.standins import pki
from simsite.standins.common import loopback
from tests.test_standins import (CFG, free_port, init_phases, pkg, run, start_static_pods,  # noqa: F401 (pkg: fixture)
                                 stop_static_pods, wait_healthy)

SERVER, CLIENT = EKU.SERVER_AUTH, EKU.CLIENT_AUTH
WAIT = 30


def wait_for(what, check, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def refuses(host, port):
    try:
        socket.create_connection((host, port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def served_cert(host, port):
    """The certificate a TLS handshake with host:port shows, or None when nothing answers."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=2) as s, ctx.wrap_socket(s) as t:
            return x509.load_der_x509_certificate(t.getpeercert(binary_form=True))
    except OSError:
        return None


def api(root, url, path, method="GET"):
    """(status, body) of a request with the admin kubeconfig's client certificate."""
    kc = pki.parse_kubeconfig((root / "etc/kubernetes/admin.conf").read_text())
    d = root / "tmp-admin"
    d.mkdir(exist_ok=True)
    (d / "c").write_text(kc["cert"])
    (d / "k").write_text(kc["key"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.load_cert_chain(str(d / "c"), str(d / "k"))
    req = urllib.request.Request(url + path, method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def pid_of(root, comp):
    try:
        return int((root / "run/standins" / (comp + ".pid")).read_text())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def ha(pkg, tmp_path_factory):  # noqa: F811
    """Master 0 (init phases) and master 1 (a control-plane join) in two sandboxes whose etcd
    members share one store, as the site's masters do through their shared directory."""
    b = pkg[2]
    d = tmp_path_factory.mktemp("ha")
    m0, m1 = d / "m0", d / "m1"
    port0, port1 = free_port(), free_port()
    (m0 / "etc").mkdir(parents=True)
    cfg = d / "cfg.yaml"
    cfg.write_text(CFG % port0)
    (m1 / "var/lib/standins").mkdir(parents=True)
    (m0 / "var/lib/standins/etcd-cluster").mkdir(parents=True)
    (m1 / "var/lib/standins/etcd-cluster").symlink_to(m0 / "var/lib/standins/etcd-cluster")
    runners = [start_static_pods(b, m0), start_static_pods(b, m1)]
    try:
        init_phases(b, m0, cfg)
        for f in ["ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt", "etcd/ca.key"]:
            (m1 / "etc/kubernetes/pki" / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(m0 / "etc/kubernetes/pki" / f, m1 / "etc/kubernetes/pki" / f)
        h = pki.spki_hash(pki.load_cert((m0 / "etc/kubernetes/pki/ca.crt").read_text()))
        pkgpath = str(b.parent.parent.parent / "kube-linux-amd64-v1.22.6.tar.gz")
        addr1 = loopback(m1)
        started = time.time()
        rc, out, err = run(b, m1, "edgeadm", "join", "127.0.0.1:%d" % port0, "--control-plane", "--enable-edge=false",
                           "--install-pkg-path", pkgpath, "--token", "abcdef.0123456789abcdef", "--discovery-token-ca-cert-hash", h,
                           "--node-name", "master1", "--apiserver-advertise-address", addr1, "--apiserver-bind-port", str(port1),
                           # no kubelet registers a Node in a sandbox: the phases that wait for it are left out
                           "--skip-phases=init-node,join-prepare,kubelet-start,control-plane-join/mark-control-plane")
        assert rc == 0, (out, err)
        wait_healthy("https://%s:%d" % (addr1, port1))
        print("control-plane join of master1 (phases to a healthy API server): %.1fs" % (time.time() - started))
        yield {"b": b, "m0": m0, "m1": m1, "cfg": cfg, "url0": "https://127.0.0.1:%d" % port0, "port0": port0,
               "url1": "https://%s:%d" % (addr1, port1), "addr1": addr1, "port1": port1, "join_out": out}
    finally:
        for root, r in zip((m0, m1), runners):
            stop_static_pods(root, r)


# ------------------------------------------------------------------ certificates
def _cert(root, base):
    return pki.load_cert((root / "etc/kubernetes/pki" / (base + ".crt")).read_text())


def _eku(c):
    return list(c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _sans(c):
    try:
        san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return san.get_values_for_type(x509.DNSName), [str(i) for i in san.get_values_for_type(x509.IPAddress)]


def _subject(c):
    return (c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
            [a.value for a in c.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)])


def check_kubeadm_leaf(c, ca, cn, orgs, eku, before_issue, dns=None, ips=None):
    """kubeadm 1.22's NewSignedCert: subject, issuer, NotBefore = the CA's, NotAfter = issue
    time + 365 days, KeyUsage, ExtKeyUsage, CA:FALSE, SANs."""
    assert _subject(c) == (cn, list(orgs))
    assert c.issuer == ca.subject and pki.verify_signed_by(c, ca)
    assert pki.not_before(c) == pki.not_before(ca)
    year = datetime.timedelta(days=365)
    assert before_issue + year - datetime.timedelta(seconds=1) <= pki.not_after(c) <= datetime.datetime.now(datetime.timezone.utc) + year
    ku = c.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.key_encipherment and not ku.value.key_cert_sign
    assert _eku(c) == eku
    assert c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    got_dns, got_ips = _sans(c)
    assert got_dns == sorted(dns or []) and got_ips == list(ips or [])


def test_certificates_of_master0_and_of_a_joining_master_are_kubeadms(ha):
    m0, m1 = ha["m0"], ha["m1"]
    ca, fp, etcd = _cert(m0, "ca"), _cert(m0, "front-proxy-ca"), _cert(m0, "etcd/ca")
    for c, cn in ((ca, "kubernetes"), (fp, "front-proxy-ca"), (etcd, "etcd-ca")):
        assert _subject(c) == (cn, []) and c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert pki.not_after(c) - pki.not_before(c) == datetime.timedelta(days=3650)
        ku = c.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.key_cert_sign and ku.digital_signature and ku.key_encipherment
    long_ago = pki.not_before(ca)  # every leaf was made after the CA
    svc = "10.96.0.1"
    for root, node, addr in ((m0, "master0", "127.0.0.1"), (m1, "master1", ha["addr1"])):
        check_kubeadm_leaf(_cert(root, "apiserver"), ca, "kube-apiserver", [], [SERVER], long_ago,
                           [node, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
                           # master 1 adds the controlPlaneEndpoint of kubeadm-config (master 0's address)
                           [svc, addr] + (["127.0.0.1"] if root is m1 else []))
        check_kubeadm_leaf(_cert(root, "apiserver-kubelet-client"), ca, "kube-apiserver-kubelet-client", ["system:masters"],
                           [CLIENT], long_ago)
        check_kubeadm_leaf(_cert(root, "front-proxy-client"), fp, "front-proxy-client", [], [CLIENT], long_ago)
        etcd_ips = [addr, "::1"] if addr == "127.0.0.1" else [addr, "127.0.0.1", "::1"]
        for base in ("etcd/server", "etcd/peer"):
            check_kubeadm_leaf(_cert(root, base), etcd, node, [], [SERVER, CLIENT], long_ago, ["localhost", node], etcd_ips)
        check_kubeadm_leaf(_cert(root, "etcd/healthcheck-client"), etcd, "kube-etcd-healthcheck-client", ["system:masters"],
                           [CLIENT], long_ago)
        check_kubeadm_leaf(_cert(root, "apiserver-etcd-client"), etcd, "kube-apiserver-etcd-client", ["system:masters"],
                           [CLIENT], long_ago)
        for conf, cn, orgs in (("admin", "kubernetes-admin", ["system:masters"]),
                               ("controller-manager", "system:kube-controller-manager", []),
                               ("scheduler", "system:kube-scheduler", [])):
            kc = pki.parse_kubeconfig((root / "etc/kubernetes" / (conf + ".conf")).read_text())
            check_kubeadm_leaf(pki.load_cert(kc["cert"]), ca, cn, orgs, [CLIENT], long_ago)
            assert (root / "etc/kubernetes" / (conf + ".conf")).stat().st_mode & 0o777 == 0o600
        for key in ("apiserver.key", "etcd/server.key", "apiserver-etcd-client.key"):
            assert (root / "etc/kubernetes/pki" / key).stat().st_mode & 0o777 == 0o600
    # etcd's client and peer ports show the member's server and peer certificates
    for root, addr in ((m0, loopback(m0)), (m1, ha["addr1"])):
        assert served_cert(loopback(root), 2379).serial_number == _cert(root, "etcd/server").serial_number
        assert served_cert(addr if root is m1 else loopback(m0), 2380).serial_number == _cert(root, "etcd/peer").serial_number
    # the joining master made its own leaves: none is master 0's
    assert _cert(m0, "apiserver").serial_number != _cert(m1, "apiserver").serial_number
    assert _cert(m0, "etcd/peer").serial_number != _cert(m1, "etcd/peer").serial_number
    # each API server serves its own certificate
    assert served_cert("127.0.0.1", ha["port0"]).serial_number == _cert(m0, "apiserver").serial_number
    assert served_cert(ha["addr1"], ha["port1"]).serial_number == _cert(m1, "apiserver").serial_number


# ------------------------------------------------------------------ static pods
def test_etcd_health_and_the_components_health_endpoints(ha):
    for root in (ha["m0"], ha["m1"]):
        lb = loopback(root)
        with urllib.request.urlopen("http://%s:2381/health" % lb, timeout=5) as r:
            assert json.loads(r.read()) == {"health": "true", "reason": ""}
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        for port in (10257, 10259):
            # they listen once their in-memory serving certificate is made (about a second after the start)
            wait_for("port %d of %s" % (port, root.name), lambda: served_cert(lb, port))
            with urllib.request.urlopen("https://%s:%d/healthz" % (lb, port), context=ctx, timeout=5) as r:
                assert r.read() == b"ok"
    members = json.loads(next((ha["m0"] / "var/lib/standins/etcd-cluster").glob("*/members.json")).read_text())
    assert set(members) == {"master0", "master1"}


def test_moving_a_manifest_out_stops_the_pod_and_back_restarts_it_with_the_certificate_on_disk(ha):
    b, m0, cfg, port = ha["b"], ha["m0"], ha["cfg"], ha["port0"]
    manifests = m0 / "etc/kubernetes/manifests"
    old = served_cert("127.0.0.1", port)
    # the renewal: new certificate and key written in place (kubeadm's certs phase makes a new one
    # when none is on disk)
    for f in ("apiserver.crt", "apiserver.key"):
        (m0 / "etc/kubernetes/pki" / f).unlink()
    rc, out, err = run(b, m0, "edgeadm", "init", "phase", "certs", "apiserver", "--config", str(cfg))
    assert rc == 0, err
    new = _cert(m0, "apiserver")
    assert new.serial_number != old.serial_number
    # the running process keeps the certificate it loaded
    assert served_cert("127.0.0.1", port).serial_number == old.serial_number
    away = m0 / "manifests-away"
    away.mkdir(exist_ok=True)
    shutil.move(str(manifests / "kube-apiserver.yaml"), str(away / "kube-apiserver.yaml"))
    t0 = time.time()
    wait_for("the API server to stop", lambda: refuses("127.0.0.1", port))
    stopped = time.time() - t0
    shutil.move(str(away / "kube-apiserver.yaml"), str(manifests / "kube-apiserver.yaml"))
    t0 = time.time()
    wait_healthy(ha["url0"], path="/readyz")
    print("kube-apiserver: stopped %.2fs after its manifest left, ready %.2fs after it came back" % (stopped, time.time() - t0))
    assert served_cert("127.0.0.1", port).serial_number == new.serial_number
    # a file whose name starts with "." is not a pod (kubelet's file source ignores it)
    shutil.move(str(manifests / "kube-scheduler.yaml"), str(manifests / ".kube-scheduler.yaml"))
    wait_for("the scheduler to stop", lambda: refuses(loopback(m0), 10259))
    shutil.move(str(manifests / ".kube-scheduler.yaml"), str(manifests / "kube-scheduler.yaml"))
    wait_for("the scheduler to answer", lambda: served_cert(loopback(m0), 10259))


def test_a_changed_manifest_restarts_its_pod_with_the_new_command_line(ha):
    m0 = ha["m0"]
    path = m0 / "etc/kubernetes/manifests/kube-scheduler.yaml"
    before = wait_for("the scheduler's pid", lambda: pid_of(m0, "kube-scheduler"))
    text = path.read_text()
    path.write_text(text.replace("- --leader-elect=true", "- --leader-elect=true\n    - --v=2"))
    try:
        after = wait_for("a new scheduler process", lambda: (pid_of(m0, "kube-scheduler") or before) != before
                         and pid_of(m0, "kube-scheduler"))
        wait_for("the scheduler to answer", lambda: served_cert(loopback(m0), 10259))
        assert "--v=2" in open("/proc/%d/cmdline" % after).read().split("\0")
    finally:
        path.write_text(text)
    wait_for("the scheduler back on its old command line", lambda: pid_of(m0, "kube-scheduler") not in (None, after))


def test_a_controller_manager_whose_client_certificate_is_not_the_cas_does_not_start(ha):
    m0 = ha["m0"]
    conf = m0 / "etc/kubernetes/controller-manager.conf"
    manifests, away = m0 / "etc/kubernetes/manifests", m0 / "manifests-away"
    away.mkdir(exist_ok=True)
    good = conf.read_text()
    kc = pki.parse_kubeconfig(good)
    other_ca, other_key = pki.make_ca("kubernetes")
    cert, key = pki.new_signed_cert(other_ca, other_key, "system:kube-controller-manager")
    conf.write_text(pki.kubeconfig(kc["server"], kc["ca"], "system:kube-controller-manager", pki.cert_pem(cert), pki.key_pem(key)))
    lb = loopback(m0)
    try:
        shutil.move(str(manifests / "kube-controller-manager.yaml"), str(away / "kube-controller-manager.yaml"))
        wait_for("the controller-manager to stop", lambda: refuses(lb, 10257))
        shutil.move(str(away / "kube-controller-manager.yaml"), str(manifests / "kube-controller-manager.yaml"))
        log = m0 / "var/log/standins/kube-controller-manager.log"
        wait_for("the refusal in its log", lambda: "not signed by its CA" in log.read_text())
        assert refuses(lb, 10257)
    finally:
        conf.write_text(good)
    # the kubelet starts it again after its back-off (10s) and it now starts
    wait_for("the controller-manager to answer", lambda: served_cert(lb, 10257), timeout=40)


def test_the_api_answers_on_master1_while_master0s_api_server_is_stopped(ha):
    m0, m1 = ha["m0"], ha["m1"]
    manifests, away = m0 / "etc/kubernetes/manifests", m0 / "manifests-away"
    away.mkdir(exist_ok=True)
    path = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
    assert api(m1, ha["url1"], path)[0] == 200   # master 0 wrote it: one store
    shutil.move(str(manifests / "kube-apiserver.yaml"), str(away / "kube-apiserver.yaml"))
    try:
        wait_for("master 0's API server to stop", lambda: refuses("127.0.0.1", ha["port0"]))
        code, body = api(m1, ha["url1"], path)
        assert code == 200 and json.loads(body)["metadata"]["name"] == "kubeadm-config"
        assert api(m1, ha["url1"], "/readyz")[0] == 200
    finally:
        shutil.move(str(away / "kube-apiserver.yaml"), str(manifests / "kube-apiserver.yaml"))
    wait_healthy(ha["url0"], path="/readyz")


def test_readyz_says_etcd_failed_while_the_local_member_is_stopped(ha):
    m1 = ha["m1"]
    manifests, away = m1 / "etc/kubernetes/manifests", m1 / "manifests-away"
    away.mkdir(exist_ok=True)
    shutil.move(str(manifests / "etcd.yaml"), str(away / "etcd.yaml"))
    try:
        wait_for("master 1's etcd to stop", lambda: refuses(loopback(m1), 2381))
        code, body = api(m1, ha["url1"], "/readyz")
        assert code == 500 and "[-]etcd failed: reason withheld\n" in body and body.endswith("readyz check failed\n"), body
        assert "[+]ping ok" in body and "[+]shutdown ok" in body
        assert api(m1, ha["url1"], "/livez")[0] == 500
        code, body = api(m1, ha["url1"], "/api/v1/namespaces")
        assert code == 504 and json.loads(body)["reason"] == "Timeout"
        code, body = api(m1, ha["url1"], "/api/v1/namespaces/default", method="DELETE")
        assert code == 500 and "connection refused" in json.loads(body)["message"]
        assert api(ha["m0"], ha["url0"], "/readyz")[0] == 200   # master 0's member is up
    finally:
        shutil.move(str(away / "etcd.yaml"), str(manifests / "etcd.yaml"))
    wait_healthy(ha["url1"], path="/readyz")
    assert api(m1, ha["url1"], "/readyz?verbose")[1].endswith("readyz check passed\n")


def test_reset_of_one_master_keeps_the_data_and_of_the_last_removes_it(ha):
    b, m0, m1 = ha["b"], ha["m0"], ha["m1"]
    shared = m0 / "var/lib/standins/etcd-cluster"
    rc, out, err = run(b, m1, "edgeadm", "reset", "--force")
    assert rc == 0, err
    assert refuses(ha["addr1"], ha["port1"]) and refuses(loopback(m1), 2381)
    data = list(shared.glob("*/store.json"))
    assert data and set(json.loads(data[0].parent.joinpath("members.json").read_text())) == {"master0"}
    assert api(m0, ha["url0"], "/api/v1/namespaces/kube-system/configmaps/kubeadm-config")[0] == 200
    rc, out, err = run(b, m0, "edgeadm", "reset", "--force")
    assert rc == 0, err
    assert not list(shared.glob("*/store.json"))
    assert refuses("127.0.0.1", ha["port0"])
