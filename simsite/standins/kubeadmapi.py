"""kubeadm's configuration types (v1beta3, and v1beta2 as kubeadm 1.22 still reads it) and
kubelet's KubeletConfiguration (v1beta1), decoded strictly.

The field names and Go types below are transcribed from kubeadm's and kubelet's API types
(`cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go`, `.../v1beta2/types.go`,
`cmd/kubeadm/app/apis/bootstraptoken/v1/types.go`, `staging/src/k8s.io/kubelet/config/v1beta1/
types.go`). Decoding follows Go's JSON rules as the apimachinery decoder applies them:
a `metav1.Duration` is a string parsed by `time.ParseDuration` (a YAML number is an error),
an int32 field refuses a string, and an unknown field is an error.

One deliberate difference: kubeadm 1.22 only *logs* unknown fields as a warning
(`cmd/kubeadm/app/util/config/strict/strict.go`: "The returned error here is currently
ignored everywhere and a klog warning is thrown instead"), and ignores documents of an
unknown kind with `[config] WARNING: Ignored YAML document ...`. The stand-in prints the
same text and then fails, so a typo cannot pass the simulated site silently.
"""
import re

import yaml

KUBEADM_GROUP = "kubeadm.k8s.io"
KUBELET_GROUP = "kubelet.config.k8s.io"
SCHEME = "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"


class DecodeError(Exception):
    pass


class UnknownField(DecodeError):
    def __init__(self, name):
        super().__init__('unknown field "%s"' % name)
        self.name = name


# --- Go types ------------------------------------------------------------------------------
STR, INT32, BOOL, DUR, TIME = "string", "int32", "bool", "metav1.Duration", "metav1.Time"


def lst(t):
    return ("list", t)


def mp(t):
    return ("map", t)


def obj(name, fields):
    return ("obj", name, fields)


TAINT = obj("v1.Taint", {"key": STR, "value": STR, "effect": STR, "timeAdded": TIME})
API_ENDPOINT = obj("APIEndpoint", {"advertiseAddress": STR, "bindPort": INT32})
PATCHES = obj("Patches", {"directory": STR})
HOST_PATH_MOUNT = obj("HostPathMount", {"name": STR, "hostPath": STR, "mountPath": STR, "readOnly": BOOL,
                                        "pathType": STR})
CP_COMPONENT = {"extraArgs": mp(STR), "extraVolumes": lst(HOST_PATH_MOUNT)}
IMAGE_META = {"imageRepository": STR, "imageTag": STR}
BOOTSTRAP_TOKEN = obj("BootstrapToken", {"token": "BootstrapTokenString", "description": STR, "ttl": DUR,
                                         "expires": TIME, "usages": lst(STR), "groups": lst(STR)})


def node_registration(v):
    f = {"name": STR, "criSocket": STR, "taints": lst(TAINT), "kubeletExtraArgs": mp(STR),
         "ignorePreflightErrors": lst(STR)}
    if v == "v1beta3":
        f["imagePullPolicy"] = STR
    return obj("NodeRegistrationOptions", f)


def init_configuration(v):
    f = {"bootstrapTokens": lst(BOOTSTRAP_TOKEN), "nodeRegistration": node_registration(v),
         "localAPIEndpoint": API_ENDPOINT, "certificateKey": STR}
    if v == "v1beta3":
        f.update(skipPhases=lst(STR), patches=PATCHES)
    return f


def cluster_configuration(v):
    etcd = obj("Etcd", {
        "local": obj("LocalEtcd", dict(IMAGE_META, dataDir=STR, extraArgs=mp(STR), serverCertSANs=lst(STR),
                                       peerCertSANs=lst(STR))),
        "external": obj("ExternalEtcd", {"endpoints": lst(STR), "caFile": STR, "certFile": STR, "keyFile": STR})})
    dns = dict(IMAGE_META)
    if v == "v1beta2":
        dns["type"] = STR
    f = {"etcd": etcd,
         "networking": obj("Networking", {"serviceSubnet": STR, "podSubnet": STR, "dnsDomain": STR}),
         "kubernetesVersion": STR, "controlPlaneEndpoint": STR,
         "apiServer": obj("APIServer", dict(CP_COMPONENT, certSANs=lst(STR), timeoutForControlPlane=DUR)),
         "controllerManager": obj("ControlPlaneComponent", dict(CP_COMPONENT)),
         "scheduler": obj("ControlPlaneComponent", dict(CP_COMPONENT)),
         "dns": obj("DNS", dns), "certificatesDir": STR, "imageRepository": STR,
         "featureGates": mp(BOOL), "clusterName": STR}
    if v == "v1beta2":
        f["useHyperKubeImage"] = BOOL
    return f


def join_configuration(v):
    disc = obj("Discovery", {
        "bootstrapToken": obj("BootstrapTokenDiscovery", {"token": STR, "apiServerEndpoint": STR,
                                                          "caCertHashes": lst(STR), "unsafeSkipCAVerification": BOOL}),
        "file": obj("FileDiscovery", {"kubeConfigPath": STR}),
        "tlsBootstrapToken": STR, "timeout": DUR})
    f = {"nodeRegistration": node_registration(v), "caCertPath": STR, "discovery": disc,
         "controlPlane": obj("JoinControlPlane", {"localAPIEndpoint": API_ENDPOINT, "certificateKey": STR})}
    if v == "v1beta3":
        f.update(skipPhases=lst(STR), patches=PATCHES)
    return f


def kubelet_configuration():
    # KubeletConfiguration v1beta1 as kubelet 1.22 has it (the fields a kubeadm cluster uses).
    auth = obj("KubeletAuthentication", {
        "x509": obj("KubeletX509Authentication", {"clientCAFile": STR}),
        "webhook": obj("KubeletWebhookAuthentication", {"enabled": BOOL, "cacheTTL": DUR}),
        "anonymous": obj("KubeletAnonymousAuthentication", {"enabled": BOOL})})
    authz = obj("KubeletAuthorization", {
        "mode": STR, "webhook": obj("KubeletWebhookAuthorization", {"cacheAuthorizedTTL": DUR, "cacheUnauthorizedTTL": DUR})})
    f = {"enableServer": BOOL, "staticPodPath": STR, "syncFrequency": DUR, "fileCheckFrequency": DUR,
         "httpCheckFrequency": DUR, "staticPodURL": STR, "staticPodURLHeader": mp(lst(STR)), "address": STR,
         "port": INT32, "readOnlyPort": INT32, "volumePluginDir": STR, "providerID": STR, "tlsCertFile": STR,
         "tlsPrivateKeyFile": STR, "tlsCipherSuites": lst(STR), "tlsMinVersion": STR, "rotateCertificates": BOOL,
         "serverTLSBootstrap": BOOL, "authentication": auth, "authorization": authz, "registryPullQPS": INT32,
         "registryBurst": INT32, "eventRecordQPS": INT32, "eventBurst": INT32, "enableDebuggingHandlers": BOOL,
         "enableContentionProfiling": BOOL, "healthzPort": INT32, "healthzBindAddress": STR, "oomScoreAdj": INT32,
         "clusterDomain": STR, "clusterDNS": lst(STR), "streamingConnectionIdleTimeout": DUR,
         "nodeStatusUpdateFrequency": DUR, "nodeStatusReportFrequency": DUR, "nodeLeaseDurationSeconds": INT32,
         "imageMinimumGCAge": DUR, "imageGCHighThresholdPercent": INT32, "imageGCLowThresholdPercent": INT32,
         "volumeStatsAggPeriod": DUR, "kubeletCgroups": STR, "systemCgroups": STR, "cgroupRoot": STR,
         "cgroupsPerQOS": BOOL, "cgroupDriver": STR, "cpuManagerPolicy": STR, "cpuManagerPolicyOptions": mp(STR),
         "cpuManagerReconcilePeriod": DUR, "memoryManagerPolicy": STR, "topologyManagerPolicy": STR,
         "topologyManagerScope": STR, "qosReserved": mp(STR), "runtimeRequestTimeout": DUR, "hairpinMode": STR,
         "maxPods": INT32, "podCIDR": STR, "podPidsLimit": INT32, "resolvConf": STR, "runOnce": BOOL,
         "cpuCFSQuota": BOOL, "cpuCFSQuotaPeriod": DUR, "nodeStatusMaxImages": INT32, "maxOpenFiles": INT32,
         "contentType": STR, "kubeAPIQPS": INT32, "kubeAPIBurst": INT32, "serializeImagePulls": BOOL,
         "evictionHard": mp(STR), "evictionSoft": mp(STR), "evictionSoftGracePeriod": mp(STR),
         "evictionPressureTransitionPeriod": DUR, "evictionMaxPodGracePeriod": INT32,
         "evictionMinimumReclaim": mp(STR), "podsPerCore": INT32, "enableControllerAttachDetach": BOOL,
         "protectKernelDefaults": BOOL, "makeIPTablesUtilChains": BOOL, "iptablesMasqueradeBit": INT32,
         "iptablesDropBit": INT32, "featureGates": mp(BOOL), "failSwapOn": BOOL,
         "memorySwap": obj("MemorySwapConfiguration", {"swapBehavior": STR}), "containerLogMaxSize": STR,
         "containerLogMaxFiles": INT32, "configMapAndSecretChangeDetectionStrategy": STR,
         "systemReserved": mp(STR), "kubeReserved": mp(STR), "reservedSystemCPUs": STR,
         "showHiddenMetricsForVersion": STR, "systemReservedCgroup": STR, "kubeReservedCgroup": STR,
         "enforceNodeAllocatable": lst(STR), "allowedUnsafeSysctls": lst(STR),
         "kernelMemcgNotification": BOOL, "logging": obj("LoggingConfiguration", {"format": STR, "sanitization": BOOL}),
         "enableSystemLogHandler": BOOL, "shutdownGracePeriod": DUR, "shutdownGracePeriodCriticalPods": DUR,
         "reservedMemory": lst(obj("MemoryReservation", {"numaNode": INT32, "limits": mp(STR)})),
         "enableProfilingHandler": BOOL, "enableDebugFlagsHandler": BOOL, "seccompDefault": BOOL,
         "memoryThrottlingFactor": "float64", "registerWithTaints": lst(TAINT), "registerNode": BOOL}
    return f


KINDS = {
    (KUBEADM_GROUP, "InitConfiguration"): init_configuration,
    (KUBEADM_GROUP, "ClusterConfiguration"): cluster_configuration,
    (KUBEADM_GROUP, "JoinConfiguration"): join_configuration,
}
KUBEADM_VERSIONS = ("v1beta2", "v1beta3")
OLD_KUBEADM_VERSIONS = {"v1alpha1": "v1.11", "v1alpha2": "v1.12", "v1alpha3": "v1.14", "v1beta1": "v1.21"}
GO_NAMES = {"InitConfiguration": "InitConfiguration", "ClusterConfiguration": "ClusterConfiguration",
            "JoinConfiguration": "JoinConfiguration", "KubeletConfiguration": "KubeletConfiguration"}

# time.ParseDuration: an optional sign, then one or more decimal numbers each with a unit.
_DUR = re.compile(r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|ms|s|m|h))+")
_TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")


def parse_go_duration(s):
    """Seconds of a Go duration string, or ValueError with Go's message."""
    if s == "0":
        return 0.0
    if not isinstance(s, str) or not _DUR.fullmatch(s):
        raise ValueError('time: invalid duration "%s"' % s)
    sign = -1 if s.startswith("-") else 1
    total = 0.0
    for num, unit in re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)", s):
        total += float(num) * {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[unit]
    return sign * total


def _json_kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _check(value, t, path):
    """Decode `value` as Go type `t` (path names the field, jsoniter style)."""
    if value is None:
        return
    k = _json_kind(value)
    if t == STR:
        if k != "string":
            raise DecodeError('%s: ReadString: expects " or n, but found %s' % (path, _first(value)))
    elif t == INT32:
        if k != "number" or isinstance(value, float) and not value.is_integer():
            raise DecodeError("%s: readUint32: unexpected character: %s" % (path, _short(value)))
    elif t == "float64":
        if k != "number":
            raise DecodeError("%s: readFloat64: unexpected character" % path)
    elif t == BOOL:
        if k != "bool":
            raise DecodeError("%s: ReadBool: expect t or f, but found %s" % (path, _first(value)))
    elif t == DUR:
        if k != "string":
            raise DecodeError("%s: unmarshalerDecoder: json: cannot unmarshal %s into Go value of type string" % (path, k))
        try:
            parse_go_duration(value)
        except ValueError as e:
            raise DecodeError("%s: unmarshalerDecoder: %s" % (path, e))
    elif t == TIME:
        if k != "string" or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
            raise DecodeError('%s: unmarshalerDecoder: parsing time "%s" as "2006-01-02T15:04:05Z07:00": cannot parse' % (path, value))
    elif t == "BootstrapTokenString":
        if k != "string":
            raise DecodeError("%s: unmarshalerDecoder: json: cannot unmarshal %s into Go value of type string" % (path, k))
        if not _TOKEN.match(value):
            raise DecodeError('%s: unmarshalerDecoder: the bootstrap token "%s" was not of the form "^([a-z0-9]{6})\\.([a-z0-9]{16})$"'
                              % (path, value))
    elif isinstance(t, tuple) and t[0] == "list":
        if k != "array":
            raise DecodeError("%s: decode slice: expect [ or n, but found %s" % (path, _first(value)))
        for item in value:
            _check(item, t[1], path)
    elif isinstance(t, tuple) and t[0] == "map":
        if k != "object":
            raise DecodeError("%s: ReadMapCB: expect { or n, but found %s" % (path, _first(value)))
        for key, item in value.items():
            _check(item, t[1], path)
    elif isinstance(t, tuple) and t[0] == "obj":
        _fields(value, t[1], t[2], path)


def _first(v):
    return str(v)[:1] if not isinstance(v, bool) else ("t" if v else "f")


def _short(v):
    return str(v)[:20]


def _fields(value, go_name, fields, path):
    if not isinstance(value, dict):
        raise DecodeError("%s: ReadObjectCB: expect { or n, but found %s" % (path, _first(value)))
    for key, item in value.items():
        if key not in fields:
            raise UnknownField(key)
        _check(item, fields[key], "%s.%s" % (path, _go_field(key)))


_GO_NAMES = {"ttl": "TTL", "criSocket": "CRISocket", "certSANs": "CertSANs", "apiServer": "APIServer",
             "localAPIEndpoint": "LocalAPIEndpoint", "dns": "DNS", "caCertHashes": "CACertHashes",
             "unsafeSkipCAVerification": "UnsafeSkipCAVerification", "caCertPath": "CACertPath",
             "apiServerEndpoint": "APIServerEndpoint", "tlsBootstrapToken": "TLSBootstrapToken",
             "clusterDNS": "ClusterDNS", "kubeAPIQPS": "KubeAPIQPS", "kubeAPIBurst": "KubeAPIBurst"}


def _go_field(key):
    return _GO_NAMES.get(key) or key[:1].upper() + key[1:]


def split_documents(text):
    """[(apiVersion, kind, doc)] of a multi-document YAML file, as kubeadm splits it."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise DecodeError("error converting YAML to JSON: yaml: %s" % str(e).splitlines()[0])
    out = []
    for d in docs:
        if not isinstance(d, dict):
            raise DecodeError("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal %s into Go value of type struct"
                              % _json_kind(d))
        av, kind = d.get("apiVersion") or "", d.get("kind") or ""
        group, _, version = av.rpartition("/")
        if not version or not kind or not group and av != "v1":
            raise DecodeError('invalid configuration for GroupVersionKind schema.GroupVersionKind{Group:"%s", Version:"%s", Kind:"%s"}: '
                              "kind and apiVersion is mandatory information that must be specified" % (group, version, kind))
        out.append((group, version, kind, d))
    return out


def decode(text):
    """Decode kubeadm's --config file: {kind: doc}. Raises DecodeError with kubeadm's text."""
    found = {}
    for group, version, kind, doc in split_documents(text):
        if group == KUBEADM_GROUP:
            if version in OLD_KUBEADM_VERSIONS:
                raise DecodeError("your configuration file uses an old API spec: \"%s/%s\". Please use kubeadm %s instead and run "
                                  "'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, "
                                  "similar spec using a newer API version." % (group, version, OLD_KUBEADM_VERSIONS[version]))
            if (group, kind) not in KINDS:
                raise DecodeError("[config] WARNING: Ignored YAML document with GroupVersionKind %s/%s, Kind=%s "
                                  "(the stand-in refuses it: see kubeadmapi.py)" % (group, version, kind))
            if version not in KUBEADM_VERSIONS:
                raise DecodeError('no kind "%s" is registered for version "%s/%s" in scheme "%s"' % (kind, group, version, SCHEME))
            fields = dict(KINDS[(group, kind)](version), apiVersion=STR, kind=STR)
            _strict(doc, group, version, kind, fields)
        elif group == KUBELET_GROUP and kind == "KubeletConfiguration":
            if version != "v1beta1":
                raise DecodeError('no kind "%s" is registered for version "%s/%s" in scheme "%s"' % (kind, group, version, SCHEME))
            _strict(doc, group, version, kind, dict(kubelet_configuration(), apiVersion=STR, kind=STR))
        elif group == "kubeproxy.config.k8s.io" and kind == "KubeProxyConfiguration":
            pass  # not modelled: kubeadm hands it to kube-proxy
        else:
            raise DecodeError("[config] WARNING: Ignored YAML document with GroupVersionKind %s/%s, Kind=%s "
                              "(the stand-in refuses it: see kubeadmapi.py)" % (group, version, kind))
        if kind in found:
            raise DecodeError('invalid configuration: kind "%s" is specified twice in YAML file' % kind)
        found[kind] = doc
    return found


def _strict(doc, group, version, kind, fields):
    gvk = 'schema.GroupVersionKind{Group:"%s", Version:"%s", Kind:"%s"}' % (group, version, kind)
    try:
        _fields(doc, kind, fields, "%s.%s" % (version, kind))
    except UnknownField as e:
        # what sigs.k8s.io/yaml's UnmarshalStrict says, wrapped by kubeadm's strict.go
        raise DecodeError('error unmarshaling configuration %s: error unmarshaling JSON: while decoding JSON: '
                          'json: unknown field "%s"' % (gvk, e.name))


def decode_kubelet_config(text, path):
    """kubelet's config file (kubelet decodes it strictly). Raises DecodeError with kubelet's text."""
    try:
        docs = split_documents(text)
        if len(docs) != 1 or docs[0][:3] != (KUBELET_GROUP, "v1beta1", "KubeletConfiguration"):
            g, v, k = docs[0][:3] if docs else ("", "", "")
            raise DecodeError('no kind "%s" is registered for version "%s/%s" in scheme '
                              '"k8s.io/kubernetes/pkg/kubelet/apis/config/scheme/scheme.go:28"' % (k, g, v))
        _strict(docs[0][3], KUBELET_GROUP, "v1beta1", "KubeletConfiguration",
                dict(kubelet_configuration(), apiVersion=STR, kind=STR))
        return docs[0][3]
    except DecodeError as e:
        raise DecodeError("failed to load Kubelet config file %s, error failed to decode: %s" % (path, e))
