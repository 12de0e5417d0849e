"""Day 2 on an HA site (three masters, a VIP), through real Terraform: every certificate made
due (`certificate_renewal_before="renew-now"`), the plan's updates and warnings, the apply
renewing the masters one at a time while the API keeps answering through at least one
master, the files and the TLS handshakes afterwards; then a master that cannot be reached
stops the renewal there, the master after it untouched. Unit level: test_cert_renewal.py."""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
import ssl
import threading
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from edge_constructs.credentials import pki, renewal
from provisioners.core.certificates import KUBEADM_VALIDITY
from provisioners.steps import certs
from simsite import tf
from simsite.site import Site
from tests import plan as judged
from tests.test_cluster_e2e import APP, write_spec
from tests.test_cluster_e2e import package  # noqa: F401  (the module fixture it shares)

pytestmark = pytest.mark.site
TYPE = "edge_master_certificates"
#: Files read on each master: every certificate the renewal replaces.
CERT_FILES = [c.path for c in certs.CERTS]


def _resynth(work: Path, spec_path: Path, **cluster) -> Path:
    spec = json.loads(spec_path.read_text())
    spec["cluster"] = cluster
    spec_path.write_text(json.dumps(spec))
    return tf.synth(APP, work / "out", {"EDGE_TEST_SPEC": str(spec_path)})


@pytest.fixture(scope="module")
def ha(package, tmp_path_factory):  # noqa: F811  (the fixture)
    pkg, sha, tools = package
    work = tmp_path_factory.mktemp("renewal")
    with Site(n=3, host_tools=tools) as site:
        spec = write_spec(work, site, pkg, sha, masters=3,
                          ha={"vip": "198.18.0.250", "interface": "eth0"})
        stack = _resynth(work, spec)
        tf.terraform(["init", "-input=false"], stack).check()
        tf.terraform(["apply", "-auto-approve", "-input=false", "-parallelism=10"], stack).check()
        yield site, work, spec, stack


def _read(site: Site, host, path: str) -> x509.Certificate:
    full = f"{certs.K8S_DIR}/{path}"
    if path.endswith(".conf"):
        rc, out, err = site.ssh(host, f"cat {full}")
        assert rc == 0, err
        user = renewal.kubeconfig_client_cert(out, full)[1]
        return x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    rc, out, err = site.ssh(host, f"cat {full}")
    assert rc == 0, err
    return x509.load_pem_x509_certificate(out.encode())


def _files(site: Site, host) -> dict[str, x509.Certificate]:
    return {p: _read(site, host, p) for p in CERT_FILES}


def _served(address: str, port: int = 6443) -> x509.Certificate:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=5) as s, ctx.wrap_socket(s) as t:
        return x509.load_der_x509_certificate(t.getpeercert(binary_form=True))


class Availability:
    """Asks every master's API server for a namespace (the admin's client certificate, the
    cluster CA) every 0.2 s while it runs; a round is served when any master answered."""

    def __init__(self, addresses: list[str], kubeconfig: str, tmp: Path):
        doc = yaml.safe_load(kubeconfig)
        user = doc["users"][0]["user"]
        tmp.mkdir(mode=0o700, exist_ok=True)
        for name, key in (("ca.crt", None), ("admin.crt", "client-certificate-data"),
                          ("admin.key", "client-key-data")):
            data = (doc["clusters"][0]["cluster"]["certificate-authority-data"] if key is None
                    else user[key])
            (tmp / name).write_bytes(base64.b64decode(data))
            (tmp / name).chmod(0o600)
        self.ctx = ssl.create_default_context(cafile=str(tmp / "ca.crt"))
        self.ctx.check_hostname = False
        self.ctx.load_cert_chain(str(tmp / "admin.crt"), str(tmp / "admin.key"))
        self.addresses = addresses
        self.made = {a: 0 for a in addresses}
        self.answered = {a: 0 for a in addresses}
        self.rounds = self.served_rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _ask(self, address: str) -> bool:
        req = (f"GET /api/v1/namespaces/kube-system HTTP/1.1\r\nHost: {address}:6443\r\n"
               "Connection: close\r\n\r\n").encode()
        try:
            with socket.create_connection((address, 6443), timeout=2) as s, \
                    self.ctx.wrap_socket(s) as t:
                t.settimeout(2)
                t.sendall(req)
                return re.match(rb"HTTP/1\.[01] 200 ", t.recv(64)) is not None
        except (OSError, ssl.SSLError):
            return False

    def _loop(self) -> None:
        while not self._stop.is_set():
            ok = False
            for a in self.addresses:
                self.made[a] += 1
                if self._ask(a):
                    self.answered[a] += 1
                    ok = True
            self.rounds += 1
            self.served_rounds += ok
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)

    def report(self) -> str:
        per = ", ".join(f"{a}: {self.answered[a]}/{self.made[a]}" for a in self.addresses)
        return (f"API availability during the renewal: {self.served_rounds}/{self.rounds} rounds "
                f"answered by at least one master; per master answered/made: {per}")


def test_renew_now_renews_every_master_one_at_a_time_and_the_api_keeps_answering(ha, tmp_path):
    site, work, spec, stack = ha
    masters = site.hosts[:3]
    cas = {m.name: _read(site, m, certs.CAS["ca"]) for m in masters}
    before = {m.name: _files(site, m) for m in masters}
    stack = _resynth(work, spec, certificate_renewal_before="renew-now")
    p = judged.plan(stack).check()
    changed = dict(judged.changed(p))
    print("plan:", sorted(changed.items()))
    print("\n".join(line for line in p.output.splitlines() if line.startswith("Warning: "))[:4000])
    for m in masters:
        assert changed.get(f"{TYPE}.edge_certificates_{m.name}") == "update", changed
    assert changed.get("edge_cluster_identity.edge_identity") == "update"
    for m in masters:
        for c in certs.CERTS:
            assert f"master {m.name}: certificate {c.name} expires" in p.output
    assert "cluster e2e: certificate lite_apiserver expires" in p.output

    kubeconfig = tf.outputs(stack)["edge_kubeconfig"]
    with Availability([m.address for m in masters], kubeconfig, tmp_path / "client") as av:
        run = tf.terraform(["apply", "-auto-approve", "-input=false", "-parallelism=10"], stack)
    print(av.report())
    assert run.returncode == 0, run.output[-4000:]
    done = re.findall(rf"{TYPE}\.edge_certificates_(h\d): Modifications complete after (\S+)",
                      run.output)
    print("apply, per master:", done)
    assert [m for m, _ in done] == [m.name for m in masters]   # one at a time, in order
    assert av.rounds > 10 and av.served_rounds == av.rounds, av.report()

    now = pki.now()
    for m in masters:
        after = _files(site, m)
        for path in CERT_FILES:
            old, new = before[m.name][path], after[path]
            assert new.serial_number != old.serial_number, (m.name, path)
            assert new.subject == old.subject, (m.name, path)
            ca = _read(site, m, certs.CAS[next(c.ca for c in certs.CERTS if c.path == path)])
            assert renewal.signed_by(new, ca), (m.name, path)
            assert new.not_valid_before_utc <= now < new.not_valid_after_utc
            assert new.not_valid_after_utc - now > dt.timedelta(days=364)
            print(f"{m.name} {path}: not after {old.not_valid_after_utc:%Y-%m-%d %H:%M} -> "
                  f"{new.not_valid_after_utc:%Y-%m-%d %H:%M}")
        assert _read(site, m, certs.CAS["ca"]) == cas[m.name]          # the same CA
        assert _served(m.address) == after["pki/apiserver.crt"]         # the handshake
    shown = tf.outputs(stack)["edge_certificates"]
    assert set(shown["masters"]) == {m.name for m in masters}
    assert shown["masters"]["h0"]["apiserver"]["days_left"] == 364
    assert shown["masters"]["h0"]["kubelet-client"]["renewed_by"] == \
        "the kubelet (rotateCertificates)"

    # back to the default window: only the window itself changes, nothing is renewed again
    stack = _resynth(work, spec)
    p = judged.plan(stack).check()
    for address, action in judged.changed(p):
        # the window, and what is due by it (nothing now)
        assert action == "update" and set(judged.changed_attributes(p, address)) <= {
            "renew_before", "renewal_due"}, \
            (address, judged.changed_attributes(p, address))
    renewed = {m.name: _files(site, m) for m in masters}
    tf.terraform(["apply", "-auto-approve", "-input=false"], stack).check()
    assert {m.name: _files(site, m) for m in masters} == renewed
    judged.assert_no_change(judged.plan(stack), outputs=("edge_certificates", "edge_nodes",
                                                         "edge_edge_components"))


def _age(site: Site, host, path: str, days: int) -> None:
    """Re-issue `path` (a certificate and its key) on `host` to end in `days` days, signed by
    the host's own CA: a certificate due soon, without waiting a year."""
    c = next(c for c in certs.CERTS if c.path == path)
    ca_path = certs.CAS[c.ca]
    rc, ca_pem, _ = site.ssh(host, f"cat {certs.K8S_DIR}/{ca_path}")
    rc2, ca_key, _ = site.ssh(host, f"cat {certs.K8S_DIR}/{ca_path[:-4]}.key")
    rc3, old, _ = site.ssh(host, f"cat {certs.K8S_DIR}/{path}")
    assert rc == rc2 == rc3 == 0
    r = renewal.renew(old, ca_pem, ca_key, path,
                      now=pki.now() - KUBEADM_VALIDITY + dt.timedelta(days=days))
    for data, dst in ((r.cert_pem, path), (r.key_pem, c.key_path)):
        rc, _, err = site.ssh(host, f"cat > {certs.K8S_DIR}/{dst}", input=data.decode())
        assert rc == 0, err


def test_a_master_that_cannot_be_reached_stops_the_renewal_there(ha):
    site, work, spec, stack = ha
    h0, h1, h2 = site.hosts[:3]
    for h in (h0, h1, h2):
        _age(site, h, "pki/front-proxy-client.crt", days=10)
    before = {h.name: _files(site, h) for h in (h0, h1, h2)}
    stack = _resynth(work, spec)
    plan_file = "renew.tfplan"
    run = tf.terraform(["plan", "-input=false", f"-out={plan_file}"], stack).check()
    assert "certificate front-proxy-client expires" in run.output
    site.stop_sshd(h1)
    try:
        run = tf.terraform(["apply", "-input=false", plan_file], stack)
    finally:
        site.start_sshd(h1)
        (stack / plan_file).unlink(missing_ok=True)
    assert run.returncode != 0
    assert "master h1: certificate renewal failed" in run.output, run.output[-3000:]
    after = {h.name: _files(site, h) for h in (h0, h1, h2)}
    assert after["h0"]["pki/front-proxy-client.crt"] != before["h0"]["pki/front-proxy-client.crt"]
    assert after["h1"] == before["h1"]          # unreachable: its old certificates
    assert after["h2"] == before["h2"]          # after the failure: untouched
    # reachable again, the next apply renews what is left, then nothing is due
    tf.terraform(["apply", "-auto-approve", "-input=false"], stack).check()
    after = {h.name: _files(site, h) for h in (h1, h2)}
    for h in (h1, h2):
        end = after[h.name]["pki/front-proxy-client.crt"].not_valid_after_utc
        assert end - pki.now() > dt.timedelta(days=364)
    judged.assert_no_change(judged.plan(stack), outputs=("edge_certificates", "edge_nodes",
                                                         "edge_edge_components"))
