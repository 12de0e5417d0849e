"""Facts of the network a cluster uses, for the checks at synth and the steps on hosts alike:
what an IP address is, and the ports the control plane's own components hold."""
from __future__ import annotations

import ipaddress
import re

__all__ = ["is_ip", "RESERVED_PORTS", "KUBELET_PORT", "DEFAULT_API_SERVER_PORT",
           "IMAGE_REPOSITORY_RE"]

DEFAULT_API_SERVER_PORT = 6443
KUBELET_PORT = 10250
#: Ports of the control plane's own components on masters: the API server cannot take one.
RESERVED_PORTS = {2379: "etcd (client)", 2380: "etcd (peer)", KUBELET_PORT: "the kubelet",
                  10257: "kube-controller-manager", 10259: "kube-scheduler"}


def is_ip(value: object) -> bool:
    """An IPv4 or IPv6 address (a str), nothing else."""
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


#: An image repository as SuperEdge's manifests take it: host[:port]/path, lower case (the
#: reference grammar of distribution/reference, without tag or digest).
IMAGE_REPOSITORY_RE = re.compile(
    r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*")
