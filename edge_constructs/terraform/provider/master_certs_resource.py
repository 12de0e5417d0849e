"""`edge_master_certificates`: one master's kubeadm certificates, seen at every plan and
renewed as a planned change.

read    looks at the master over SSH (one command; no key leaves the host): each
        certificate kubeadm renews (`provisioners.steps.certs.CERTS`), the CAs, and the
        kubelet's own client certificate and whether the kubelet rotates it; `certificates`
        holds each one's not-after and days left (the `<id>_certificates` output);
plan    a certificate that ends within `renew_before` plans an update of this master, with
        a warning naming it and its end;
create  records what the chain made (and renews at once what is already due);
update  renews every certificate of the list, as `kubeadm certs renew all` does
        (`credentials.renewal`: same subject, SANs and usages, a new key, a year, signed by
        the CA in state, which comes from the provider block, never this state), then runs
        `RenewControlPlaneCertificates` on the master: files with their modes (the old ones
        kept), static pods restarted one by one, each waited for; then checks that the API
        server serves the new certificate (a TLS handshake). Masters renew one at a time:
        each waits for the one before (depends_on); a failure stops the apply there, the
        masters after it untouched.
delete  forgets (the certificates go with the master's reset).
"""
from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Optional

from tf.iface import (CreateContext, DeleteContext, PlanContext, ReadContext, Resource,
                      UpdateContext)
from tf.schema import Attribute
from tf.types import List, String, Unknown
from tf.utils import Diagnostics

from provisioners.core.certificates import renewal_window
from provisioners.core.errors import CredentialsError, SSHError, StepFailed
from provisioners.core.props import Host
from provisioners.ssh.runner import Connection, RunnerSettings, run_step
from provisioners.steps import certs
from edge_constructs.credentials import pki, renewal
from edge_constructs.terraform.provider.common import Meta, Named, add_error, check_rules
from edge_constructs.terraform.provider.log import node_log
from edge_constructs.validation import validate_master_certificates_resource

SETTINGS = RunnerSettings(command_timeout=900.0)
#: Not ours to renew: shown only (the kubelet rotates its client certificate).
KUBELET = "kubelet-client"


class MasterCertificates(Named, Resource):
    META = Meta("master_certificates", 1, "One master's kubeadm certificates: their expiry "
                "at every plan, renewed from the cluster's CAs within the renewal window",
                id="the master's name")

    @classmethod
    def attributes(cls) -> list[Attribute]:
        return [
            Attribute("master", String(), required=True, requires_replace=True,
                      description="the master's inventory name"),
            Attribute("host", String(), required=True,
                      description="how to reach the master: JSON of a Host (no key material)"),
            Attribute("api_server", String(), required=True,
                      description='this master\'s API server, "address:port"'),
            Attribute("renew_before", String(), required=True,
                      description='renewal window: a Go duration ("720h") or "renew-now"'),
            Attribute("certificates", String(), computed=True,
                      description="JSON: each certificate's not_after, days_left and who "
                                  "renews it (this resource, or the kubelet)"),
            Attribute("renewal_due", List(String()), computed=True,
                      description="the certificates inside the window (seen by read)"),
        ]

    def validate(self, diags: Diagnostics, type_name: str, config: dict):
        super().validate(diags, type_name, config)
        check_rules(diags, validate_master_certificates_resource, config)

    # --- read / plan ---------------------------------------------------------------------

    def read(self, ctx: ReadContext, current: dict) -> Optional[dict]:
        try:
            seen = _look(_host(current))
        except (SSHError, CredentialsError) as e:
            ctx.diagnostics.add_warning(
                f"master {current['master']}: cannot read its certificates",
                f"{e}\nThe expiry shown is the one seen by the last apply.")
            return current
        return _observed(current, seen)

    def plan(self, ctx: PlanContext, current: Optional[dict], planned: dict) -> Optional[dict]:
        if current is None or not current.get("certificates"):
            planned["certificates"] = planned["renewal_due"] = Unknown
            return planned
        window = planned.get("renew_before")
        if window is Unknown:
            return planned
        shown = json.loads(current["certificates"])
        due = _due(shown, window)
        for name in due:
            c = shown[name]
            ctx.diagnostics.add_warning(
                f"master {planned['master']}: certificate {name} expires {c['not_after']}",
                f"{c['days_left']} days left, inside certificate_renewal_before "
                f"({window}): this apply renews every kubeadm certificate of master "
                f"{planned['master']}, then restarts its static pods one at a time.")
        if due:
            planned["certificates"] = planned["renewal_due"] = Unknown
        else:
            planned["renewal_due"] = []
        return planned

    # --- create / update -----------------------------------------------------------------

    def create(self, ctx: CreateContext, planned: dict) -> Optional[dict]:
        state = dict(planned, id=planned["master"])
        try:
            seen = _look(_host(state))
        except (SSHError, CredentialsError) as e:
            add_error(ctx.diagnostics, f"master {state['master']}: cannot read its certificates",
                      str(e))
            return None
        state = _observed(state, seen)
        if state["renewal_due"]:
            return self._renew(ctx.diagnostics, state, state)
        return state

    def update(self, ctx: UpdateContext, current: dict, planned: dict) -> Optional[dict]:
        state = dict(planned, id=planned["master"])
        if planned.get("certificates") is not Unknown:
            return state          # the window changed, nothing is due: what plan said
        return self._renew(ctx.diagnostics, state, current)

    def delete(self, ctx: DeleteContext, current: dict):
        return None

    # --- renewal -------------------------------------------------------------------------

    def _cas(self) -> dict:
        access = getattr(self.provider, "access", None)
        cas = getattr(access, "cas", None)
        if not cas:
            raise CredentialsError(
                "the renewal needs the cluster's CAs from its provider block (`cas`, set by "
                "EdgeCluster from the identity in state); this block has none")
        return cas

    def _renew(self, diags: Diagnostics, state: dict, current: dict) -> Optional[dict]:
        name = state["master"]
        with node_log(f"master-{name}-certificates") as log:
            t0 = time.monotonic()
            try:
                cas = self._cas()
                seen = _renew_on(_host(state), state["api_server"], cas, log.line)
            except (StepFailed, SSHError, CredentialsError) as e:
                log.line(f"failed: {e}")
                add_error(diags, f"master {name}: certificate renewal failed",
                          f"{e}\n\nThe whole run is in {log.path}. The masters after this one "
                          "were not touched. Fix the cause and apply again.")
                return None if current is state else current
            log.line(f"renewed in {time.monotonic() - t0:.1f}s")
        return _observed(state, seen)


# --- helpers (no state of their own) -----------------------------------------------------

def _host(state: dict) -> Host:
    return Host.from_dict(json.loads(state["host"]), f"master {state['master']}: host")


def _sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        if line.startswith("== "):
            name = line[3:].strip()
            out[name] = ""
        elif name is not None:
            out[name] += line + "\n"
    return out


def _look_with(conn: Connection) -> dict[str, str]:
    res = conn.run(certs.read_script(), step="ReadCertificates", timeout=60.0)
    if not res.ok:
        raise SSHError(f"[{conn.host.key}] reading the certificates exited {res.exit_code}: "
                       f"{res.tail()}")
    return _sections(res.stdout)


def _look(host: Host) -> dict[str, str]:
    with Connection(host, SETTINGS) as conn:
        return _look_with(conn)


def _observed(state: dict, seen: dict[str, str]) -> dict:
    """`certificates` and `renewal_due` from what read found on the master."""
    shown: dict[str, dict] = {}
    for c in certs.CERTS:
        pem = seen.get(c.name, "").strip()
        if pem:
            shown[c.name] = dict(renewal.facts(pem), renewed_by="edge_master_certificates")
    for ca in certs.CAS:
        pem = seen.get(ca, "").strip()
        if pem:
            shown[ca] = dict(renewal.facts(pem), renewed_by="nobody: a new CA is a new cluster")
    pem = seen.get(KUBELET, "").strip()
    if pem:
        rotates = seen.get("rotateCertificates", "").strip() == "true"
        shown[KUBELET] = dict(renewal.facts(pem), renewed_by="the kubelet (rotateCertificates)"
                              if rotates else "nobody: rotateCertificates is off")
    window = state.get("renew_before")
    due = _due(shown, window) if isinstance(window, str) else []
    return dict(state, certificates=json.dumps(shown, sort_keys=True), renewal_due=due)


def _due(shown: dict, window: str) -> list[str]:
    """The certificates this resource renews that end within `window`."""
    limit = pki.now() + renewal_window(window)
    ours = {c.name for c in certs.CERTS}
    return sorted(n for n, c in shown.items() if n in ours
                  and renewal.parse_time(c["not_after"]) <= limit)


def _renew_on(host: Host, api_server: str, cas: dict, log) -> dict[str, str]:
    """Issue, install and restart on one master; what read sees afterwards."""
    with Connection(host, SETTINGS) as conn:
        seen = _look_with(conn)
        for ca in certs.CAS:
            mine = renewal.ca_pair(cas, ca)[0]
            found = seen.get(ca, "").strip()
            if not found or renewal.load(found) != renewal.load(mine):
                raise CredentialsError(
                    f"[{host.key}] {certs.CAS[ca]} is not the {ca} in Terraform state: the "
                    "master belongs to another cluster, or its CA was replaced; nothing renewed")
        new: dict[str, tuple[bytes, str]] = {}
        for c in certs.CERTS:
            ca_cert, ca_key = renewal.ca_pair(cas, c.ca)
            what = f"[{host.key}] {certs.K8S_DIR}/{c.path}"
            if c.kubeconfig:
                with conn.sftp().open(f"{certs.K8S_DIR}/{c.path}") as f:
                    text = f.read().decode()
                conf, _ = renewal.renew_kubeconfig(text, ca_cert, ca_key, what)
                new[c.path] = (conf, "0600")
            else:
                pem = seen.get(c.name, "").strip()
                if not pem:
                    raise CredentialsError(f"{what} is missing: kubeadm made no such "
                                           "certificate here; nothing renewed")
                r = renewal.renew(pem, ca_cert, ca_key, what)
                new[c.path] = (r.cert_pem, "0644")
                new[c.key_path] = (r.key_pem, "0600")
        stage = certs.stage_dir()
        dirs = sorted({f"{stage}/{p.rsplit('/', 1)[0]}" if "/" in p else stage for p in new})
        prep = conn.run("mkdir -p -m 0700 " + " ".join(dirs), step="RenewControlPlaneCertificates")
        if not prep.ok:
            raise StepFailed(host.key, "RenewControlPlaneCertificates", prep.command,
                             prep.exit_code, prep.tail())
        for path, (data, _mode) in new.items():
            conn.put_text(data.decode(), f"{stage}/{path}", "0600")
        log(f"[{host.key}] {len(new)} new files staged")
        run_step(conn, certs.renew_step(f"https://{api_server}"), SETTINGS, log)
        served = _served_certificate(api_server)
        wanted = renewal.load(new["pki/apiserver.crt"][0])
        if served != wanted:
            raise CredentialsError(f"[{host.key}] the API server at {api_server} still serves "
                                   f"certificate serial {served.serial_number:x}, not the renewed "
                                   f"{wanted.serial_number:x}")
        log(f"[{host.key}] the API server at {api_server} serves the renewed certificate "
            f"(serial {wanted.serial_number:x}, until {wanted.not_valid_after_utc:%Y-%m-%d})")
        return _look_with(conn)


def _served_certificate(api_server: str, timeout: float = 10.0):
    """The certificate the API server presents in a TLS handshake (verified later)."""
    host, port = api_server.rsplit(":", 1)
    host = host.strip("[]")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        with ctx.wrap_socket(sock) as tls:
            der = tls.getpeercert(binary_form=True)
    from cryptography import x509
    return x509.load_der_x509_certificate(der)
