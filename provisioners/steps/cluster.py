"""Steps that form the cluster (master 0), grow it (other masters) and prepare edge joins."""
from __future__ import annotations

import ipaddress
import json
import re

import yaml

from provisioners.core.paths import (ADMIN_CONF, CA_HASH_FILE, ETC_DIR, KUBEADM_CONFIG, PKI_DIR,
                                       RETIRED_TOKENS_FILE, SECRETS_DIR, STATE_DIR, TOKEN_FILE)
from provisioners.core import duration
from provisioners.core.net import IMAGE_REPOSITORY_RE
from provisioners.core.toml import toml_key, toml_string
from provisioners.steps import edge_update
from provisioners.steps.context import Context
from provisioners.core.paths import PKG_DIR
from provisioners.steps.host import runtime_marker, uninstall_script
from provisioners.steps.kubelet_unit import (KUBELET_DROPIN, KUBELET_DROPIN_FILE, KUBELET_SERVICE,
                                             KUBELET_SERVICE_FILE, KUBELET_SYSCONF, KUBELET_SYSCONF_FILE)
from provisioners.steps.step import On, Upload, sh_script, step

STAGED_PKI = f"{ETC_DIR}/pki"
#: What a rendered configuration holds where the bootstrap token goes: the script puts the
#: token read from its uploaded file there (sh/token.sh), so no script text holds it.
TOKEN_PLACEHOLDER = "EDGE_CONSTRUCTS_BOOTSTRAP_TOKEN"
TOKEN_GROUPS = ["system:bootstrappers:kubeadm:default-node-token"]
TOKEN_USAGES = ["signing", "authentication"]


def _with_token(*names: str, **values) -> str:
    """A body that reads the uploaded bootstrap token first (sh/token.sh)."""
    return sh_script("token", *names, TOKEN_FILE=TOKEN_FILE, TOKEN_PLACEHOLDER=TOKEN_PLACEHOLDER,
                     **values)


def yaml_docs(*docs: dict) -> str:
    """YAML documents rendered by PyYAML (never by pasting values into text)."""
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False).rstrip("\n")


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
    return (sh_script("EnsureCertificates", PKI_DIR=PKI_DIR, STAGED_PKI=STAGED_PKI,
                      FILES=[f"{dst} {mode}" for _, dst, mode in files]), ups)


@step("EnsureEgressSelector", on=On.MASTERS)
def ensure_egress_selector(ctx: Context):
    """Masters: the tunnel-anp client certificate kube-apiserver uses to reach edge nodes
    through tunnel-cloud is in place."""
    c = ctx.creds
    ups = (Upload(str(c.tunnel_anp_client_cert), f"{PKI_DIR}/tunnel-anp-client.crt", "0644"),
           Upload(str(c.tunnel_anp_client_key), f"{PKI_DIR}/tunnel-anp-client.key", "0600"))
    return (sh_script("EnsureEgressSelector"), ups)


def go_duration(value: str) -> str:
    """A Go duration as Go prints it (`time.Duration.String`): "0" -> "0s", "24h" -> "24h0m0s".
    kubeadm's BootstrapToken.ttl is a metav1.Duration: it decodes only from such a string.
    The one parser validation uses too (`provisioners.core.duration`)."""
    return duration.render(duration.parse(value))


APISERVER_EDGE_ARGS = {
    "kubelet-preferred-address-types": "Hostname",
    "egress-selector-config-file": "/etc/kubernetes/kube-apiserver-conf/egress-selector-configuration.yaml",
    "enable-aggregator-routing": "true",
}
APISERVER_CONF_VOLUME = {"name": "kube-apiserver-conf", "hostPath": "/etc/kubernetes/kube-apiserver-conf",
                         "mountPath": "/etc/kubernetes/kube-apiserver-conf", "readOnly": False,
                         "pathType": "DirectoryOrCreate"}


@step("EnsureKubeadmConfig", on=On.MASTERS)
def ensure_kubeadm_config(ctx: Context):
    """Masters: the kubeadm configuration edgeadm reads, with the pre-generated token."""
    s = ctx.spec
    sans = [s.advertise_address, *[m.address for m in s.masters], *s.cert_sans]
    if s.ha and s.ha.vip:
        sans.append(s.ha.vip)
    sans = list(dict.fromkeys(sans))
    runtime_socket = ("/run/containerd/containerd.sock" if s.container_runtime == "containerd"
                      else "/var/run/dockershim.sock")
    init = {
        "apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration",
        "bootstrapTokens": [{"token": TOKEN_PLACEHOLDER, "ttl": go_duration(s.join_token_ttl),
                             "groups": TOKEN_GROUPS, "usages": TOKEN_USAGES}],
        "localAPIEndpoint": {"advertiseAddress": ctx.host.address, "bindPort": s.api_server_port},
        "nodeRegistration": {
            "name": ctx.node_name, "criSocket": runtime_socket,
            # kubelet --node-labels: key=value[,key=value]
            "kubeletExtraArgs": {"node-labels": "superedge.io/node-cloud=enable"}},
    }
    cluster = {
        "apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
        "clusterName": s.name, "kubernetesVersion": f"v{s.kubernetes_version}",
        "controlPlaneEndpoint": s.endpoint,
        "networking": {"podSubnet": s.pod_cidr, "serviceSubnet": s.service_cidr,
                       "dnsDomain": s.dns_domain},
        # What `edgeadm init`'s PreRunE (edgeadmConfigUpdate, edgeadm pkg/util/kubeadm/init.go)
        # sets and phase runs never see: the API server reaches edge kubelets by host name
        # through tunnel-cloud (egress selector) and routes aggregated APIs itself.
        "apiServer": {"certSANs": sans, "extraArgs": dict(APISERVER_EDGE_ARGS),
                      "extraVolumes": [dict(APISERVER_CONF_VOLUME)]},
    }
    return (_with_token("EnsureKubeadmConfig", CONFIG=yaml_docs(init, cluster),
                        KUBEADM_CONFIG=KUBEADM_CONFIG),
            (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),))


def _containerd_registry(ctx: Context) -> str:
    """containerd settings for `registry` (Docker Hub mirrors, an insecure domain), in the
    version-1 layout of the package's config.toml (containerd 1.4, CRI plugin `plugins.cri`:
    edge-install container/containerd/config.toml), appended to it. Always starts with the
    marker line the uninstall fragment looks for."""
    reg = ctx.spec.registry
    lines = ["# edge_constructs: registry settings"]
    cri = "plugins.cri.registry"
    if reg and reg.mirrors:
        eps = ", ".join(toml_string(m) for m in reg.mirrors)
        lines += [f'[{cri}.mirrors."docker.io"]', f"  endpoint = [{eps}]"]
    if reg and reg.domain and reg.insecure:
        lines += [f"[{cri}.configs.{toml_key(reg.domain)}.tls]", "  insecure_skip_verify = true"]
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
    """Masters: the container runtime from the package is installed and running, as edgeadm's
    `container` phase installs it (pkg/edgeadm/steps/runtime.go: unpack
    container/<runtime>-*.tgz, run its <runtime>/install), with our registry settings in its
    configuration. The chain runs the script itself: edgeadm's phase needs the package that
    only a whole `edgeadm init` unpacks (PreRunE)."""
    rt = ctx.spec.container_runtime
    common = dict(INSTALL_DIR=ctx.install_dir, PKG_DIR=PKG_DIR, PKG_PATH=ctx.package_path,
                  MARKER=runtime_marker(rt))
    if rt == "containerd":
        return sh_script("one_match", "EnsureContainerRuntime.containerd", **common,
                         REGISTRY_TOML=_containerd_registry(ctx))
    return sh_script("one_match", "EnsureContainerRuntime.docker", **common,
                     DAEMON_JSON=_docker_daemon_json(ctx))


@step("EnsureKubeletUnit", on=On.EVERY_HOST)
def ensure_kubelet_unit(ctx: Context):
    """Every host: the kubelet unit, kubeadm's drop-in and /etc/sysconfig/kubelet are those
    edgeadm's SetPackagePath writes (provisioners/steps/kubelet_unit.py, transcribed from
    edgeadm v0.9.0 pkg/edgeadm/constant/init_node.go), and the kubelet is enabled. The package
    holds no unit; edgeadm writes it only in a whole init/join, which the chain never runs
    on masters."""
    return sh_script("EnsureKubeletUnit", SERVICE_FILE=KUBELET_SERVICE_FILE, SERVICE=KUBELET_SERVICE,
                     DROPIN_FILE=KUBELET_DROPIN_FILE, DROPIN=KUBELET_DROPIN,
                     SYSCONF_FILE=KUBELET_SYSCONF_FILE, SYSCONF=KUBELET_SYSCONF)


def _init_phase(step_name: str, phase: str, extra=lambda ctx: [], when=lambda ctx: True,
                done_if_file: str = "", check_kubelet: bool = False, as_node: bool = False):
    """A step that runs one `edgeadm init phase` on master 0, as TKE runs kubeadm's. `phase`
    must name a phase edgeadm v0.9.0 binds a command to that runs (not one with sub-phases:
    that only prints help; sh/lib/init_phase.sh fails on a help answer)."""
    @step(step_name, on=On.MASTER0)
    def run_phase(ctx: Context):
        if not when(ctx):
            return None
        return sh_script("init_phase", PHASE=phase,
                         ARGS=["init", "phase", *phase.split(), *extra(ctx)],
                         DONE_IF_FILE=done_if_file, CHECK_KUBELET=check_kubelet,
                         AS_NODE=ctx.node_name if as_node else "")
    run_phase.__doc__ = f"Master 0: `edgeadm init phase {phase}` has run."
    run_phase.__name__ = step_name
    return run_phase


_CFG = lambda ctx: ["--config", KUBEADM_CONFIG]  # noqa: E731
_APPS = lambda ctx: ["--kubeconfig", ADMIN_CONF, "--manifests-dir", EDGE_MANIFESTS_DIR]  # noqa: E731


def _vip_flags(ctx: Context) -> list[str]:
    ha = ctx.spec.ha
    flags = ["--default-ha", "kube-vip", "--control-plane-endpoint", ctx.spec.endpoint]
    return flags + (["--interface", ha.interface] if ha.interface else [])


#: The timeout of our wait for the API server (kubeadm's timeoutForControlPlane is 4m0s).
CONTROL_PLANE_TIMEOUT = 240


@step("EnsureKubeAPIServerPatch", on=On.MASTER0)
def ensure_kube_apiserver_patch(ctx: Context):
    """Master 0: kube-apiserver's static pod has edgeadm's patch (dnsPolicy
    ClusterFirstWithHostNet), which only a whole `edgeadm init` applies."""
    return sh_script("EnsureKubeAPIServerPatch", MANIFEST="/etc/kubernetes/manifests/kube-apiserver.yaml")


@step("EnsureControlPlaneReady", on=On.MASTER0)
def ensure_control_plane_ready(ctx: Context):
    """Master 0: the API server answers /readyz (bounded; the kubelet's journal when not):
    the wait of kubeadm's hidden wait-control-plane phase, which has no command."""
    return sh_script("EnsureControlPlaneReady", CA=f"{PKI_DIR}/ca.crt",
                     URL=f"https://{ctx.host.address}:{ctx.spec.api_server_port}",
                     TIMEOUT=CONTROL_PLANE_TIMEOUT)


#: Where the chain keeps the manifests the edge-apps sub-phases read (--manifests-dir).
EDGE_MANIFESTS_DIR = f"{STATE_DIR}/superedge-manifests"
TUNNEL_TOKEN_FILE = f"{SECRETS_DIR}/tunnel-cloud-token"
#: edgeadm's default image repository (pkg/edgeadm/constant/const.go ImageRepository).
EDGEADM_IMAGE_REPOSITORY = "superedge.tencentcloudcr.com/superedge"
#: The manifests edge-apps deploys (pkg/edgeadm/constant/manifests APP_* file names).
EDGE_APP_FILES = ["application-grid-controller.yaml", "application-grid-wrapper.yaml", "tunnel-cloud.yaml",
                  "tunnel-edge.yaml", "edge-health.yaml", "edge-health-admission.yaml", "site-manager.yaml",
                  "edge-coredns.yaml"]
_REPO_RE = IMAGE_REPOSITORY_RE
_HOST_RE = re.compile(r"[0-9a-f:.]+|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def edge_manifest_values(ctx: Context) -> list[str]:
    """`KEY value` for the template keys of SuperEdge's manifests whose values a phase run
    lacks (pkg/edgeadm/common/deploy_*.go): images <repo>/<name>:<version>
    (common.GetSuperEdgeImage; edge-coredns' coredns:1.6.9), tunnel-edge's server address
    (certSANs[0] of our configuration, as EnsureTunnelAddon takes it), the virtual address.
    Each value is checked here: it reaches YAML text."""
    se = ctx.spec.superedge
    repo = se.image_repository or EDGEADM_IMAGE_REPOSITORY
    if not _REPO_RE.fullmatch(repo):
        raise ValueError(f"superedge.image_repository {repo!r} is not an image repository "
                         "(host[:port]/path, lower case)")
    if not _TAG_RE.fullmatch(se.version):
        raise ValueError(f"superedge.version {se.version!r} is not an image tag ([A-Za-z0-9_.-], "
                         "up to 128 characters)")
    va = ipaddress.ip_address(se.virtual_address)
    master = ctx.spec.advertise_address   # certSANs[0] of our configuration: an IP or a DNS name
    if not _HOST_RE.fullmatch(master.lower()):
        raise ValueError(f"advertise address {master!r} is neither an IP address nor a DNS name")
    img = {"TunnelImage": "tunnel", "EdgeHealthImage": "edge-health",
           "EdgeHealthAdmissionImage": "edge-health-admission", "SiteManagerImage": "site-manager",
           "GridControllerImage": "application-grid-controller",
           "GridWrapperImage": "application-grid-wrapper"}
    return ([f"{k} {repo}/{name}:{se.version}" for k, name in img.items()]
            + [f"CoreDnsImage {repo}/coredns:1.6.9", f"EdgeVirtualAddr {va}", f"ADDRESS {va}",
               f"MasterIP {master}"])


@step("EnsureEdgeAppsManifests", on=On.MASTER0, settled=edge_update.settled_values)
def ensure_edge_apps_manifests(ctx: Context):
    """Master 0: SuperEdge's manifests (`edgeadm manifests`) hold the cluster's SuperEdge
    version, image repository, virtual address and tunnel address, for the edge-apps
    sub-phases' --manifests-dir (they take no --config and no edgeadm flags). The version
    and repository are `settled`: a change of them re-runs EnsureEdgeComponentsVersion
    alone, which updates the running workloads."""
    return sh_script("EnsureEdgeAppsManifests", DIR=EDGE_MANIFESTS_DIR, FILES=EDGE_APP_FILES,
                     SUBST=edge_manifest_values(ctx), TUNNEL_TOKEN_FILE=TUNNEL_TOKEN_FILE)


#: edgeadm's edge-apps sub-phases that have a command (pkg/edgeadm/steps/edge_app.go). Not
#: `all`: it also runs the hidden join-prepare, update-config and label-node, whose objects
#: fail as AlreadyExists on a second run and which would replace our edge-info with one made
#: from edgeadm's defaults (EnsurePrepareEdgeCluster does their work with our values).
EDGE_APPS = ["service-group", "tunnel", "edge-health", "site-manager", "edge-coredns"]

#: edgeadm init, phase by phase, in edgeadm's order (init-node and container are ours; the
#: wait of the hidden wait-control-plane phase and the kube-apiserver patch of init's
#: PreRunE are our own steps).
EDGEADM_INIT_PHASES = [
    _init_phase("EnsureKubeadmInitPhasePreflight", "preflight", _CFG,
                done_if_file=ADMIN_CONF),
    _init_phase("EnsureKubeadmInitPhaseCerts", "certs all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseKubeConfig", "kubeconfig all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseKubeletStart", "kubelet-start", _CFG, check_kubelet=True),
    _init_phase("EnsureKubeadmInitPhaseKubeVIP", "kube-vip", _vip_flags,
                when=lambda ctx: bool(ctx.spec.ha and ctx.spec.ha.vip)),
    _init_phase("EnsureKubeadmInitPhaseEdgeConfig", "edge-config ingress-config"),
    _init_phase("EnsureKubeadmInitPhaseControlPlane", "control-plane all", _CFG),
    ensure_kube_apiserver_patch,
    _init_phase("EnsureKubeadmInitPhaseETCD", "etcd local", _CFG),
    ensure_control_plane_ready,
    _init_phase("EnsureKubeadmInitPhaseUploadConfig", "upload-config all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseMarkControlPlane", "mark-control-plane", _CFG),
    _init_phase("EnsureKubeadmInitPhaseBootstrapToken", "bootstrap-token",
                lambda ctx: [*_CFG(ctx), "--skip-token-print"]),
    _init_phase("EnsureKubeadmInitPhaseKubeletFinalize", "kubelet-finalize all", _CFG),
    _init_phase("EnsureKubeadmInitPhaseAddon", "addon all", _CFG),
    # flannel inherits only --pod-network-cidr (pkg/edgeadm/steps/cni_addon.go)
    _init_phase("EnsureKubeadmInitPhaseCNIFlannel", "cni flannel",
                lambda ctx: ["--pod-network-cidr", ctx.spec.pod_cidr]),
    ensure_edge_apps_manifests,
    *[_init_phase(f"EnsureKubeadmInitPhaseEdgeApps{''.join(w.title() for w in app.split('-'))}",
                  f"edge-apps {app}", _APPS, as_node=True) for app in EDGE_APPS],
]


@step("EnsureJoinControlPlane", on=On.JOINING_MASTERS)
def ensure_control_plane_join(ctx: Context):
    """Other masters: joined as control plane (certificates were distributed by
    EnsureCertificates, so no --certificate-key is needed)."""
    s = ctx.spec
    vip = bool(s.ha and s.ha.vip)
    # join-prepare is skipped: it removes /etc/kubernetes/pki/ca.crt when it returns
    # (edgeadm pkg/edgeadm/steps/join_master.go), and without a certificate key kubeadm's
    # preflight then refuses the control-plane join; for a control-plane join it does nothing
    # else we need. The hidden kube-vip phase (--default-ha kube-vip by default) would hold
    # the discovery endpoint's address: only with a VIP, joined through the VIP.
    skip = ["init-node", "join-prepare"] + ([] if vip else ["kube-vip"])
    args = ["--control-plane", "--apiserver-advertise-address", ctx.host.address,
            "--apiserver-bind-port", s.api_server_port, "--node-name", ctx.node_name,
            "--install-pkg-path", ctx.package_path, "--skip-phases=" + ",".join(skip),
            "--runtime", s.container_runtime]
    if vip and s.ha.interface:
        args += ["--interface", s.ha.interface]
    endpoint = s.endpoint if vip else f"{s.masters[0].address}:{s.api_server_port}"
    return (_with_token("EnsureJoinControlPlane", ADMIN_CONF=ADMIN_CONF, CA_HASH_FILE=CA_HASH_FILE,
                        ENDPOINT=endpoint, ARGS=args),
            (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),
             Upload(str(ctx.creds.ca_cert_hash_file), CA_HASH_FILE, "0644")))


@step("EnsureKubeconfig", on=On.MASTERS)
def ensure_kubeconfig(ctx: Context):
    """Masters: root's kubectl talks to the cluster (~/.kube/config)."""
    return sh_script("EnsureKubeconfig", ADMIN_CONF=ADMIN_CONF)


EDGE_INFO_DIR = f"{ETC_DIR}/edge-info"


def kubernetes_service_ip(service_cidr: str) -> str:
    """The ClusterIP of the `kubernetes` Service: the first address of the (first) service
    CIDR (kubeadm constants.GetAPIServerVirtualIP)."""
    return str(ipaddress.ip_network(service_cidr.split(",")[0].strip(), strict=False)[1])


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
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "edge-system"}}
    # `data` ends the document: the script appends the files of FILES to it.
    config_map = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "edge-info", "namespace": "edge-system"},
                  "data": {"tls.json": tls, "edge-virtual-addr": s.superedge.virtual_address,
                           "host-config": hosts, "insecure-registries": insecure,
                           "node-delay-domain": "",
                           # edgeadm common/prepare_join_node.go: the `kubernetes` Service's ClusterIP
                           "kube-api-cluster-ip": kubernetes_service_ip(s.service_cidr)}}
    files = [f"kube-api-ca.crt {PKI_DIR}/ca.crt",
             f"lite-apiserver.crt {EDGE_INFO_DIR}/lite-apiserver.crt",
             f"lite-apiserver.key {EDGE_INFO_DIR}/lite-apiserver.key"]
    return sh_script("EnsurePrepareEdgeCluster", ADMIN_CONF=ADMIN_CONF, EDGE_INFO_DIR=EDGE_INFO_DIR,
                     MANIFEST=yaml_docs(namespace, config_map), FILES=files,
                     NODE_NAME=ctx.node_name), ups


#: edgeadm's constants (pkg/edgeadm/constant/const.go): application-grid-wrapper's address
#: for kube-proxy on edge nodes, the annotations of the `kubernetes` endpoints.
GRID_WRAPPER_ADDR = "http://127.0.0.1:51006"
LOCAL_PORT = "51003"
#: what a copy must not carry over from the object it is made from (server-set fields).
_SERVER_SET = {"resourceVersion": None, "uid": None, "creationTimestamp": None, "generation": None,
               "managedFields": None, "selfLink": None}


def _copy_patch(namespace: str, name: str, **more) -> str:
    """A strategic merge patch that makes an object into its copy NAMESPACE/NAME (the copies
    of edgeadm's update-config: DeepCopy, new name and namespace, ResourceVersion cleared)."""
    meta = dict(_SERVER_SET, name=name, namespace=namespace, annotations=None)
    meta.update(more.pop("metadata", {}))
    return json.dumps(dict({"metadata": meta, "status": None}, **more), sort_keys=True)


def _node_affinity(operator: str) -> dict:
    """edgeadm constant.KubeProxyPatchJson with key superedge.io/node-edge."""
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "superedge.io/node-edge", "operator": operator}]}]}}}


@step("EnsureEdgeKubeConfig", on=On.MASTER0)
def ensure_edge_kube_config(ctx: Context):
    """Master 0: what edgeadm's hidden `edge-apps update-config` does
    (pkg/edgeadm/steps/edge_app.go EnsureEdgeKubeConfig, common/update_config.go), with our
    values and create-or-update: edge-system copies of kube-proxy's ConfigMap (its
    kubeconfig.conf to application-grid-wrapper), ServiceAccount and DaemonSet (edgeadm's
    kube-proxy image, edge nodes only), kube-system's kube-proxy kept off edge nodes, the
    `kubernetes` Endpoints and EndpointSlice annotated with the local endpoint (virtual
    address, port 51003), backups `kubernetes-no-edge` and `cluster-info-no-edge`."""
    se, s = ctx.spec.superedge, ctx.spec
    repo = se.image_repository or EDGEADM_IMAGE_REPOSITORY
    image = f"{repo}/kube-proxy:v{s.kubernetes_version}"     # common.GetEdgeKubeProxy
    pod = {"priorityClassName": None, "affinity": _node_affinity("Exists"),
           "volumes": [{"name": "kube-proxy", "configMap": {"name": "edge-kube-proxy"}}],
           "containers": [{"name": "kube-proxy", "image": image}]}
    local = {"superedge.io/local-port": LOCAL_PORT,
             "superedge.io/local-endpoint": str(ipaddress.ip_address(se.virtual_address))}
    return sh_script(
        "EnsureEdgeKubeConfig", ADMIN_CONF=ADMIN_CONF,
        CM_PATCH=_copy_patch("edge-system", "edge-kube-proxy"),
        SA_PATCH=_copy_patch("edge-system", "kube-proxy", secrets=None),
        DS_PATCH=_copy_patch("edge-system", "edge-kube-proxy", spec={"template": {"spec": pod}}),
        KUBE_PROXY_PATCH=json.dumps({"spec": {"template": {"spec": {
            "affinity": _node_affinity("DoesNotExist")}}}}, sort_keys=True),
        EP_BACKUP_PATCH=_copy_patch("default", "kubernetes-no-edge",
                                    metadata={"annotations": {k: None for k in local}}),
        CLUSTER_INFO_BACKUP_PATCH=_copy_patch("kube-system", "cluster-info-no-edge"),
        ANNOTATIONS=json.dumps([{"op": "add", "path": "/metadata/annotations", "value": local}],
                               sort_keys=True))


@step("EnsureJoinPreparation", on=On.MASTER0)
def ensure_join_preparation(ctx: Context):
    """Master 0: the bootstrap token of the join command is valid (TTL `join_token_ttl`) and
    bootstrappers may read edge-info, so `edgeadm join` works on any node."""
    rbac = yaml_docs(
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "edge-info-reader", "namespace": "edge-system"},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                    "resourceNames": ["edge-info"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "edge-info-reader", "namespace": "edge-system"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "edge-info-reader"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                       "name": "system:bootstrappers"}]})
    token = {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "InitConfiguration",
             "bootstrapTokens": [{"token": TOKEN_PLACEHOLDER,
                                  "ttl": go_duration(ctx.spec.join_token_ttl),
                                  "description": "edge_constructs join token",
                                  "groups": TOKEN_GROUPS, "usages": TOKEN_USAGES}]}
    return (_with_token("EnsureJoinPreparation", ADMIN_CONF=ADMIN_CONF,
                        RETIRED_TOKENS_FILE=RETIRED_TOKENS_FILE, TOKEN_CONFIG=yaml_docs(token),
                        RBAC=rbac),
            (Upload(str(ctx.creds.bootstrap_token), TOKEN_FILE, "0600"),
             Upload(str(ctx.creds.retired_bootstrap_token_ids), RETIRED_TOKENS_FILE, "0644")))


@step("ResetMaster", on=On.MASTERS)
def reset_master(ctx: Context):
    """Masters, when the cluster is destroyed: the host no longer holds any part of the
    cluster (edgeadm reset, the runtime and kubelet stopped), nor what the chain installed
    (`host.uninstall_script`: binaries, units, runtime config, modules-load and sysctl
    files, the package). Each part tolerates what is already gone."""
    return (sh_script("reset_master_begin") + uninstall_script(ctx)
            + sh_script("ResetMaster", ETC_DIR=ETC_DIR))
