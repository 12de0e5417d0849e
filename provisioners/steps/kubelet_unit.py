"""The kubelet unit, its kubeadm drop-in and its sysconfig file, as `edgeadm init`/`join` write them.

Transcribed from superedge/edgeadm v0.9.0 `pkg/edgeadm/constant/init_node.go` (KubeletService,
KubeletConfig, KubeletSys and their paths KubeletServiceFile, KubeletConfFile, KubeletSysConf),
which `common/static_pkg.go` `SetPackagePath` writes in the PreRunE of a whole `edgeadm init` or
`join`. The chain runs phases one by one (no PreRunE), so EnsureKubeletUnit writes them itself.
The install package holds no kubelet unit (simsite/real_package.json).
"""
from __future__ import annotations

KUBELET_SERVICE_FILE = "/usr/lib/systemd/system/kubelet.service"
KUBELET_DROPIN_FILE = "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf"
KUBELET_SYSCONF_FILE = "/etc/sysconfig/kubelet"

KUBELET_SERVICE = """
[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/

[Service]
User=root
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""

KUBELET_DROPIN = """
# Note: This dropin only works with kubeadm and kubelet v1.11+
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime, populating the KUBELET_KUBEADM_ARGS variable dynamically
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that the user can use for overrides of the kubelet args as a last resort. Preferably, the user should use
# the .NodeRegistration.KubeletExtraArgs object in the configuration files instead. KUBELET_EXTRA_ARGS should be sourced from this file.
EnvironmentFile=-/etc/sysconfig/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
"""

KUBELET_SYSCONF = """
KUBELET_EXTRA_ARGS=
"""

#: (path, content) in the order SetPackagePath writes them.
KUBELET_FILES = ((KUBELET_SERVICE_FILE, KUBELET_SERVICE), (KUBELET_DROPIN_FILE, KUBELET_DROPIN),
                 (KUBELET_SYSCONF_FILE, KUBELET_SYSCONF))
