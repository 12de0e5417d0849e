"""Steps that form the cluster (master 0), grow it (other masters) and prepare edge joins."""
from __future__ import annotations

import json
import shlex

from edge_constructs.core.paths import (ADMIN_CONF, CA_HASH_FILE, ETC_DIR, KUBEADM_CONFIG, PKI_DIR,
                                       RETIRED_TOKENS_FILE, TOKEN_FILE)
from edge_constructs.steps.context import Context
from edge_constructs.steps.host import uninstall_script
from edge_constructs.steps.step import On, Upload, step

q = shlex.quote
KUBECTL = f"kubectl --kubeconfig {ADMIN_CONF}"
STAGED_PKI = f"{ETC_DIR}/pki"


# --- cluster identity -------------------------------------------------------------------

@step("EnsureCertificates", on=On.MASTERS)
def ensure_certificates(ctx: Context):
    """Masters: the cluster's CAs and service-account keys from the identity (Terraform
    state) are in /etc/kubernetes/pki. A master holding any of these files with other content
    (another cluster's identity) stops the chain before anything is written, naming the file."""
    c = ctx.creds
    files = [(c.ca_cert, "ca.crt", "0644"), (c.ca_key, "ca.key", "0600"),
             (c.front_proxy_ca_cert, "front-proxy-ca.crt", "0644"),
             (c.front_proxy_ca_key, "front-proxy-ca.key", "0600"),
             (c.etcd_ca_cert, "etcd/ca.crt", "0644"), (c.etcd_ca_key, "etcd/ca.key", "0600"),
             (c.sa_key, "sa.key", "0600"), (c.sa_pub, "sa.pub", "0644")]
    ups = tuple(Upload(str(src), f"{STAGED_PKI}/{dst}", mode) for src, dst, mode in files)
    names = " ".join(dst for _, dst, _ in files)
    installs = "\n".join(
        f"install_pki {dst} {mode}" for _, dst, mode in files)
    return (f"""\
for f in {names}; do
  if [ -f {PKI_DIR}/$f ] && ! cmp -s {STAGED_PKI}/$f {PKI_DIR}/$f; then
    run sh -c 'echo "{PKI_DIR}/'"$f"' on this host belongs to another cluster (it differs from the cluster identity in Terraform state). Refusing to overwrite the identity of a running cluster: reset this host (edgeadm reset), or use the state of the cluster it belongs to (terraform import of its credentials directory)." >&2; exit 3'
  fi
done
install_pki() {{
  mkdir -p "$(dirname {PKI_DIR}/$1)"
  if cmp -s {STAGED_PKI}/$1 {PKI_DIR}/$1; then :; else
    install -m $2 {STAGED_PKI}/$1 {PKI_DIR}/$1.edge-tmp && mv -f {PKI_DIR}/$1.edge-tmp {PKI_DIR}/$1
    say "installed {PKI_DIR}/$1"; fi
}}
{installs}
say "cluster CAs and service-account keys in place" """, ups)


@step("EnsureEgressSelector", on=On.MASTERS)
def ensure_egress_selector(ctx: Context):
    """Masters: the tunnel-anp client certificate kube-apiserver uses to reach edge nodes
    through tunnel-cloud is in place."""
    c = ctx.creds
    ups = (Upload(str(c.tunnel_anp_client_cert), f"{PKI_DIR}/tunnel-anp-client.crt", "0644"),
           Upload(str(c.tunnel_anp_client_key), f"{PKI_DIR}/tunnel-anp-client.key", "0600"))
    return ('say "tunnel-anp client certificate in place"', ups)


def go_duration(value: str) -> str:
    """A Go duration as Go prints it (`time.Duration.String`): "0" -> "0s", "24h" -> "24h0m0s".
    kubeadm's BootstrapToken.ttl is a metav1.Duration: it decodes only from such a string."""
    import re
    units = {"h": 3600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000, "ms": 1_000_000,
             "us": 1_000, "µs": 1_000, "ns": 1}
    ns = sum(round(float(n) * units[u]) for n, u in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|h|m|s)", value))
    if ns == 0:
        return "0s"
    h, rest = divmod(ns, units["h"])
    m, rest = divmod(rest, units["m"])
    if h == 0 and m == 0 and rest < units["s"]:
        for unit in ("ms", "us", "ns"):
            if rest >= units[unit]:
                return f"{rest / units[unit]:g}{'µs' if unit == 'us' else unit}"
    secs = f"{rest / units['s']:.9f}".rstrip("0").rstrip(".")
    return (f"{h}h{m}m" if h else f"{m}m" if m else "") + f"{secs}s"


@step("EnsureKubeadmConfig", on=On.MASTERS)
def ensure_kubeadm_config(ctx: Context):
    """Masters: the kubeadm configuration edgeadm reads, with the pre-generated token."""
    s = ctx.spec
    sans = [s.advertise_address, *[m.address for m in s.masters], *s.cert_sans]
    if s.ha and s.ha.vip:
        sans.append(s.ha.vip)
    sans = list(dict.fromkeys(sans))
    san_yaml = "".join(f"\n  - {q(x)}" for x in sans)
    labels = "superedge.io/node-cloud=enable"  # kubelet --node-labels: key=value[,key=value]
    return (f"""\
TOKEN=$(cat {TOKEN_FILE}); secret "$TOKEN"
cat <<EOF | put {KUBEADM_CONFIG} 0600 && say "wrote {KUBEADM_CONFIG}" || say "{KUBEADM_CONFIG} unchanged"
apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
bootstrapTokens:
- token: $TOKEN
  ttl: "{go_duration(s.join_token_ttl)}"
  groups: [system:bootstrappers:kubeadm:default-node-token]
  usages: [signing, authentication]
localAPIEndpoint:
  advertiseAddress: {ctx.host.address}
  bindPort: {s.api_server_port}
nodeRegistration:
  name: {ctx.node_name}
  criSocket: {"/run/containerd/containerd.sock" if s.container_runtime == "containerd" else "/var/run/dockershim.sock"}
  kubeletExtraArgs:
    node-labels: "{labels}"
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
clusterName: {s.name}
kubernetesVersion: v{s.kubernetes_version}
controlPlaneEndpoint: {s.endpoint}
networking:
  podSubnet: {s.pod_cidr}
  serviceSubnet: {s.service_cidr}
  dnsDomain: {s.dns_domain}
apiServer:
  certSANs:{san_yaml}
EOF""", (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),))


def _containerd_registry(ctx: Context) -> str:
    """containerd (CRI plugin) settings for `registry`: Docker Hub mirrors, an insecure domain."""
    reg = ctx.spec.registry
    lines = ["# edge_constructs: registry settings"]
    cri = 'plugins."io.containerd.grpc.v1.cri".registry'
    if reg and reg.mirrors:
        eps = ", ".join(f'"{m}"' for m in reg.mirrors)
        lines += [f'[{cri}.mirrors."docker.io"]', f"  endpoint = [{eps}]"]
    if reg and reg.domain and reg.insecure:
        lines += [f'[{cri}.configs."{reg.domain}".tls]', "  insecure_skip_verify = true"]
    return "\n".join(lines)


def _docker_daemon_json(ctx: Context) -> str:
    reg = ctx.spec.registry
    conf: dict = {"exec-opts": ["native.cgroupdriver=systemd"]}
    if reg and reg.mirrors:
        conf["registry-mirrors"] = list(reg.mirrors)
    if reg and reg.domain and reg.insecure:
        conf["insecure-registries"] = [reg.domain]
    return json.dumps(conf, indent=2)


@step("EnsureContainerRuntime", on=On.MASTERS)
def ensure_container_runtime(ctx: Context):
    """Masters: the container runtime from the package is installed and running (edgeadm's
    `container` phase only works inside a whole `edgeadm init`, so TKE's step does it)."""
    d = ctx.install_dir
    if ctx.spec.container_runtime == "containerd":
        return f"""\
if [ "$(cat /usr/local/bin/.edge_constructs-containerd 2>/dev/null)" = "$(sha256sum {d}/container/containerd-linux-*.tgz | cut -d' ' -f1)" ]; then
  say "containerd already installed"
else
  run tar -xzf {d}/container/containerd-linux-*.tgz -C /usr/local
  sha256sum {d}/container/containerd-linux-*.tgz | cut -d' ' -f1 > /usr/local/bin/.edge_constructs-containerd
  say "containerd installed"
fi
mkdir -p /etc/containerd
{{ cat {d}/conf/containerd-config.toml; printf '%s\n' {q(_containerd_registry(ctx))}; }} \
  | put /etc/containerd/config.toml 0644 && {{ say "wrote /etc/containerd/config.toml"; changed=1; }} || changed=0
put /etc/systemd/system/containerd.service 0644 < {d}/conf/containerd.service && run systemctl daemon-reload || true
run systemctl enable --now containerd
if [ "$changed" = 1 ] || ! systemctl is-active -q containerd; then run systemctl restart containerd; fi"""
    return f"""\
if [ "$(cat /usr/bin/.edge_constructs-docker 2>/dev/null)" = "$(sha256sum {d}/container/docker-linux-*.tgz | cut -d' ' -f1)" ]; then
  say "docker already installed"
else
  tmp=$(mktemp -d); run tar -xzf {d}/container/docker-linux-*.tgz -C "$tmp"
  run install -m 0755 "$tmp"/docker/* /usr/bin/; rm -rf "$tmp"
  sha256sum {d}/container/docker-linux-*.tgz | cut -d' ' -f1 > /usr/bin/.edge_constructs-docker
  say "docker installed"
fi
put /etc/systemd/system/docker.service 0644 < {d}/conf/docker.service && run systemctl daemon-reload || true
mkdir -p /etc/docker
printf '%s\n' {q(_docker_daemon_json(ctx))} | put /etc/docker/daemon.json 0644 && changed=1 || changed=0
run systemctl enable --now docker
if [ "$changed" = 1 ]; then run systemctl restart docker; fi"""


@step("EnsureKubeletUnit", on=On.EVERY_HOST)
def ensure_kubelet_unit(ctx: Context):
    """Every host: the kubelet systemd unit and kubeadm's drop-in are installed and enabled
    (edge nodes too: edgeadm's init-node, which would install them, is skipped offline)."""
    d = ctx.install_dir
    return f"""\
c=0
put /etc/systemd/system/kubelet.service 0644 < {d}/conf/kubelet.service && c=1 || true
put /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644 < {d}/conf/10-kubeadm.conf && c=1 || true
[ "$c" = 0 ] || run systemctl daemon-reload
run systemctl enable kubelet
say "kubelet unit installed" """


#: kubeadm only warns when the kubelet does not start; this says why, where it was started.
KUBELET_RUNNING = """\
for i in 1 2; do
  if ! systemctl is-active -q kubelet; then
    run sh -c 'echo "the kubelet is not running; its last lines:"; journalctl -u kubelet -n 20 --no-pager; exit 1'
  fi
  [ "$i" = 2 ] || sleep 2
done"""


def _init_phase(step_name: str, phase: str, extra=lambda ctx: "", when=lambda ctx: True,
                guard: str = "", after: str = ""):
    """A step that runs one `edgeadm init phase` on master 0, as TKE runs kubeadm's."""
    @step(step_name, on=On.MASTER0)
    def run_phase(ctx: Context):
        if not when(ctx):
            return None
        cmd = f"edgeadm init phase {phase} {extra(ctx)}".strip()
        body = f'run {cmd}\n{after + chr(10) if after else ""}say "phase {phase.split()[0]} done"'
        return f"if {guard}; then say \"already done: {phase}\"; else\n{body}\nfi" if guard else body
    run_phase.__doc__ = f"Master 0: `edgeadm init phase {phase}` has run."
    run_phase.__name__ = step_name
    return run_phase


_CFG = lambda ctx: f"--config {KUBEADM_CONFIG}"  # noqa: E731


def _vip_flags(ctx: Context) -> str:
    ha = ctx.spec.ha
    flags = f"--default-ha kube-vip --control-plane-endpoint {ctx.spec.endpoint}"
    return flags + (f" --interface {q(ha.interface)}" if ha.interface else "")


#: edgeadm init, phase by phase, in edgeadm's order (init-node and container are ours).
EDGEADM_INIT_PHASES = [
    _init_phase("EnsureKubeadmInitPhasePreflight", "preflight", _CFG,
                guard=f"[ -f {ADMIN_CONF} ]"),
    _init_phase("EnsureKubeadmInitPhaseCerts", "certs all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseKubeConfig", "kubeconfig all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseKubeletStart", "kubelet-start", _CFG, after=KUBELET_RUNNING),
    _init_phase("EnsureKubeadmInitPhaseKubeVIP", "kube-vip", _vip_flags,
                when=lambda ctx: bool(ctx.spec.ha and ctx.spec.ha.vip)),
    _init_phase("EnsureKubeadmInitPhaseEdgeConfig", "edge-config ingress-config"),
    _init_phase("EnsureKubeadmInitPhaseControlPlane", "control-plane all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseETCD", "etcd local", _CFG),
    _init_phase("EnsureKubeadmInitPhaseWaitControlPlane", "wait-control-plane"),
    _init_phase("EnsureKubeadmInitPhaseUploadConfig", "upload-config all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseMarkControlPlane", "mark-control-plane", _CFG),
    _init_phase("EnsureKubeadmInitPhaseBootstrapToken", "bootstrap-token",
                lambda ctx: f"{_CFG(ctx)} --skip-token-print"),
    _init_phase("EnsureKubeadmInitPhaseKubeletFinalize", "kubelet-finalize all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseAddon", "addon all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseCNI", "cni"),
    _init_phase("EnsureKubeadmInitPhaseEdgeApps", "edge-apps all"),
]


@step("EnsureJoinControlPlane", on=On.JOINING_MASTERS)
def ensure_control_plane_join(ctx: Context):
    """Other masters: joined as control plane (certificates were distributed by
    EnsureCertificates, so no --certificate-key is needed)."""
    s = ctx.spec
    return (f"""\
if [ -f /etc/kubernetes/kubelet.conf ] && [ -f {ADMIN_CONF} ]; then say "already a control-plane member"; else
TOKEN=$(cat {TOKEN_FILE}); secret "$TOKEN"
CA_HASH=$(cat {CA_HASH_FILE})
run edgeadm join {s.masters[0].address}:{s.api_server_port} --token "$TOKEN" \\
  --discovery-token-ca-cert-hash "$CA_HASH" --control-plane \\
  --apiserver-advertise-address {ctx.host.address} --apiserver-bind-port {s.api_server_port} \\
  --node-name {q(ctx.node_name)} --install-pkg-path {ctx.package_path} --skip-phases=init-node \\
  --runtime {s.container_runtime}
fi""", (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),
        Upload(str(ctx.creds.ca_cert_hash_file), CA_HASH_FILE, "0644")))


@step("EnsureKubeconfig", on=On.MASTERS)
def ensure_kubeconfig(ctx: Context):
    """Masters: root's kubectl talks to the cluster (~/.kube/config)."""
    return f"""\
mkdir -p /root/.kube
put /root/.kube/config 0600 < {ADMIN_CONF} && say "wrote /root/.kube/config" || say "/root/.kube/config up to date"
run {KUBECTL} get nodes -o name"""


def _apply(doc: str) -> str:
    return f"cat <<'EOF' > /tmp/edge-apply.yaml\n{doc}\nEOF\nrun {KUBECTL} apply -f /tmp/edge-apply.yaml\nrm -f /tmp/edge-apply.yaml"


EDGE_INFO_DIR = f"{ETC_DIR}/edge-info"


@step("EnsurePrepareEdgeCluster", on=On.MASTER0)
def ensure_prepare_edge_cluster(ctx: Context):
    """Master 0: namespace edge-system and the edge-info ConfigMap that edge nodes read at
    join (cluster CA, lite-apiserver serving cert, virtual address, registry hosts) exist;
    master 0 carries the cloud label."""
    s = ctx.spec
    hosts, insecure = "", ""
    if s.registry and s.registry.domain:
        if s.registry.address:
            hosts = f"{s.registry.address} {s.registry.domain}"
        if s.registry.insecure:
            insecure = s.registry.domain
    tls = ('[{"key":"/var/lib/kubelet/pki/kubelet-client-current.pem",'
           '"cert":"/var/lib/kubelet/pki/kubelet-client-current.pem"}]')
    ups = (Upload(str(ctx.creds.lite_apiserver_cert), f"{EDGE_INFO_DIR}/lite-apiserver.crt", "0600"),
           Upload(str(ctx.creds.lite_apiserver_key), f"{EDGE_INFO_DIR}/lite-apiserver.key", "0600"))
    return f"""\
block() {{ echo "  $1: |"; sed 's/^/    /' "$2"; }}
line() {{ printf '  %s: %s\\n' "$1" "$2"; }}
umask 077
{{
  printf 'apiVersion: v1\\nkind: Namespace\\nmetadata:\\n  name: edge-system\\n---\\n'
  printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: edge-info\\n  namespace: edge-system\\ndata:\\n'
  block kube-api-ca.crt {PKI_DIR}/ca.crt
  block lite-apiserver.crt {EDGE_INFO_DIR}/lite-apiserver.crt
  block lite-apiserver.key {EDGE_INFO_DIR}/lite-apiserver.key
  line tls.json {q(q(tls))}
  line edge-virtual-addr {q(q(s.superedge.virtual_address))}
  line host-config {q(q(hosts))}
  line insecure-registries {q(q(insecure))}
  line node-delay-domain "''"
}} > {EDGE_INFO_DIR}/edge-info.yaml
run {KUBECTL} apply -f {EDGE_INFO_DIR}/edge-info.yaml
run {KUBECTL} label node {q(ctx.node_name)} superedge.io/node-cloud=enable --overwrite""", ups


@step("EnsureJoinPreparation", on=On.MASTER0)
def ensure_join_preparation(ctx: Context):
    """Master 0: the bootstrap token of the join command is valid (TTL `join_token_ttl`) and
    bootstrappers may read edge-info, so `edgeadm join` works on any node."""
    rbac = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: edge-info-reader
  namespace: edge-system
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [edge-info]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: edge-info-reader
  namespace: edge-system
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: edge-info-reader
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: system:bootstrappers"""
    return (f"""\
TOKEN=$(cat {TOKEN_FILE}); secret "$TOKEN"
ID=${{TOKEN%%.*}}
if edgeadm token list 2>/dev/null | grep -q "^$ID\\."; then say "bootstrap token $ID is valid"
else run edgeadm token create "$TOKEN" --ttl {ctx.spec.join_token_ttl} --description "edge_constructs join token"; fi
# Tokens rotated out of the identity (token_rotation) no longer join.
for old in $(cat {RETIRED_TOKENS_FILE}); do
  if [ "$old" != "$ID" ] && edgeadm token list 2>/dev/null | grep -q "^$old\\."; then
    run edgeadm token delete "$old"; say "deleted rotated-out bootstrap token $old"; fi
done
{_apply(rbac)}""", (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),
                    Upload(str(ctx.creds.retired_bootstrap_token_ids), RETIRED_TOKENS_FILE, "0644")))


@step("ResetMaster", on=On.MASTERS)
def reset_master(ctx: Context):
    """Masters, when the cluster is destroyed: the host no longer holds any part of the
    cluster (edgeadm reset, the runtime and kubelet stopped), nor what the chain installed
    (`host.uninstall_script`: binaries, units, runtime config, modules-load and sysctl
    files, the package). Each part tolerates what is already gone."""
    return f"""\
if command -v edgeadm >/dev/null 2>&1; then edgeadm reset --force || say "edgeadm reset failed: continuing the cleanup"; fi
for u in kubelet containerd docker lite-apiserver; do systemctl disable --now $u >/dev/null 2>&1 || true; done
{uninstall_script(ctx)}
rm -rf /etc/kubernetes /var/lib/kubelet /var/lib/etcd {ETC_DIR} /var/lib/edge_constructs /root/.kube
say "the host no longer belongs to the cluster, and holds nothing the chain installed"
"""
