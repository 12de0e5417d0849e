"""The rules of the public props, run before anything touches a host (the files they read:
`files`; which host joins through which construct: `claims`).

Every check raises `ValidationError(field, value, allowed)` on the first problem: `field`
is a path into the props (`masters[1].address`, `install_package.sha256`, `ha.vip`), and
`allowed` says what is accepted and how to fix it.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from pathlib import PurePosixPath
from typing import Collection, Mapping, Optional, Sequence
from urllib.parse import urlparse

from provisioners.core import certificates, duration, hostkeys
from provisioners.core.errors import ValidationError
from provisioners.core.net import IMAGE_REPOSITORY_RE, RESERVED_PORTS, is_ip
from provisioners.core.paths import normalize_host_path, protected_root
from provisioners.core.props import (DEFAULT_VIRTUAL_ADDRESS, HA, ClusterSpec, File, Hooks,
                                        Host, InstallPackage, Registry, SuperEdge, split_taint)
from edge_constructs.validation.claims import host_fields, unique_resource_names
from edge_constructs.validation.files import (file_sha256, is_local_file, local_file,
                                              validate_private_key_file)

__all__ = [
    "SUPPORTED_VERSIONS",
    "CONTAINER_RUNTIMES",
    "ARCHES",
    "TAINT_EFFECTS",
    "cluster_spec",
    "validate_cluster",
    "validate_edge_nodes",
    "validate_host",
    "validate_node_host",
    "validate_dns1123_label",
    "validate_dns1123_subdomain",
    "validate_labels",
    "validate_taints",
    "validate_duration",
]

# SuperEdge (edgeadm) release -> the Kubernetes versions its install package and bundled
# kubeadm install. From superedge/edgeadm's README version table: v0.7.0 (branch
# release-1.20) installs 1.18.2 and 1.20.6; v0.8.0 and v0.8.1 (main) install 1.22.6 only;
# v0.9.0, the newest release, installs 1.22.6 only.
SUPPORTED_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "v0.7.0": ("1.18.2", "1.20.6"),
    "v0.8.0": ("1.22.6",),
    "v0.8.1": ("1.22.6",),
    "v0.9.0": ("1.22.6",),
}

CONTAINER_RUNTIMES = ("containerd", "docker")
ARCHES = ("amd64", "arm64")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
# RFC 3927 reserves the first and the last /24 of 169.254.0.0/16.
_LINK_LOCAL_RESERVED = (ipaddress.IPv4Network("169.254.0.0/24"),
                        ipaddress.IPv4Network("169.254.255.0/24"))
_CLOUD_METADATA = ipaddress.IPv4Address("169.254.169.254")

SERVICE_PREFIX_MIN, SERVICE_PREFIX_MAX = 12, 28
POD_PREFIX_MIN, POD_PREFIX_MAX = 8, 24     # each node gets a /24 of the pod CIDR

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE = _QUALIFIED_NAME
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MODE = re.compile(r"0?[0-7]{3}")
_IFNAME = re.compile(r"[^\s/:]{1,15}")

_DNS_LABEL_RULE = ("lowercase letters, digits and '-', starting and ending with a letter or "
                   "digit, at most 63 characters (RFC 1123 label)")
_DNS_SUBDOMAIN_RULE = ("dot-separated RFC 1123 labels (lowercase letters, digits and '-', each "
                       "starting and ending with a letter or digit, at most 63 characters), "
                       "at most 253 characters in all, e.g. 'edge.example.com'")
# POSIX portable login names (and what useradd accepts): no shell syntax can hide in one.
_LOGIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
#: Steps that guard the cluster; skipping one would remove the guard, not a chore.
UNSKIPPABLE_STEPS = {"EnsureCertificates": "it installs the cluster's CAs and refuses a host "
                                           "that holds another cluster's (the CA guard)"}

_ADDRESS_RULE = ("an IPv4 address, an IPv6 address, or a lowercase DNS hostname such as "
                 "'node1.example.com' (RFC 1123; the last part not all digits)")


def _supported_pairs() -> str:
    return ", ".join(f"SuperEdge {se} with Kubernetes {kv}"
                     for se, kvs in SUPPORTED_VERSIONS.items() for kv in kvs)


# --- primitive checks (return bool; the callers raise with context) ----------------------

def _is_dns1123_label(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS1123_LABEL.fullmatch(value))


def _is_dns1123_subdomain(value: object) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= 253
            and all(_is_dns1123_label(part) for part in value.split(".")))


def _is_hostname(value: object) -> bool:
    """A DNS-1123 subdomain that cannot be mistaken for a (malformed) IPv4 address."""
    return _is_dns1123_subdomain(value) and not value.rsplit(".", 1)[-1].isdigit()


def _is_address(value: object) -> bool:
    return is_ip(value) or _is_hostname(value)


def _is_port(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _split_host_port(value: str) -> Optional[tuple[str, str]]:
    """'host:port' or '[v6]:port' -> (host, port); None when there is no port part."""
    if value.startswith("["):
        close = value.find("]")
        if close < 0 or value[close + 1:close + 2] != ":":
            return None
        return value[1:close], value[close + 2:]
    if value.count(":") != 1:
        return None
    host, port = value.split(":")
    return host, port


# --- public single-value checks ----------------------------------------------------------

def validate_dns1123_label(value: str, field: str) -> None:
    """RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters."""
    if not _is_dns1123_label(value):
        raise ValidationError(field, value, f"must be {_DNS_LABEL_RULE}, e.g. 'shenzhen-edge'")


def validate_dns1123_subdomain(value: str, field: str) -> None:
    """RFC 1123 subdomain: dot-separated labels, at most 253 characters."""
    if not _is_dns1123_subdomain(value):
        raise ValidationError(field, value, f"must be {_DNS_SUBDOMAIN_RULE}")


def _validate_label_key(key: object, field: str) -> None:
    rule = ("a label key is an optional DNS subdomain prefix and '/' followed by a name of at "
            "most 63 characters ([A-Za-z0-9._-], starting and ending with a letter or digit), "
            "e.g. 'superedge.io/site' or 'zone'")
    if not isinstance(key, str) or not key:
        raise ValidationError(field, key, rule)
    prefix, slash, name = key.rpartition("/")
    if slash and not _is_dns1123_subdomain(prefix):
        raise ValidationError(field, key, f"the prefix {prefix!r} is not a DNS subdomain; {rule}")
    if len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        raise ValidationError(field, key, rule)


def _validate_label_value(value: object, field: str) -> None:
    if not isinstance(value, str) or (
            value and (len(value) > 63 or not _LABEL_VALUE.fullmatch(value))):
        raise ValidationError(field, value, "a label value is empty or at most 63 characters "
                              "of [A-Za-z0-9._-], starting and ending with a letter or digit")


def validate_labels(labels: Mapping[str, str], field: str) -> None:
    """Kubernetes label keys and values; `field` is e.g. 'labels'."""
    if not isinstance(labels, Mapping):
        raise ValidationError(field, labels, "must be a mapping of label key to label value")
    for key, value in labels.items():
        _validate_label_key(key, field)
        _validate_label_value(value, f"{field}[{key!r}]")


def validate_taints(taints: Sequence[str], field: str) -> None:
    """Taints written as 'key[=value]:Effect'; `field` is e.g. 'taints'."""
    rule = ("a taint is 'key[=value]:Effect' with Effect one of "
            f"{', '.join(TAINT_EFFECTS)}, e.g. 'dedicated=edge:NoSchedule'")
    if isinstance(taints, str) or not isinstance(taints, Sequence):
        raise ValidationError(field, taints, "must be a list of taints; " + rule)
    for i, taint in enumerate(taints):
        f = f"{field}[{i}]"
        if not isinstance(taint, str) or ":" not in taint:
            raise ValidationError(f, taint, rule)
        key, value, effect = split_taint(taint)
        if effect not in TAINT_EFFECTS:
            raise ValidationError(f, taint, f"unknown effect {effect!r}; {rule}")
        try:
            _validate_label_key(key, f)
            _validate_label_value(value, f)
        except ValidationError as e:
            raise ValidationError(f, taint, f"{e.allowed}; {rule}") from None


#: The shortest bootstrap-token lifetime accepted (other than "0", never expires): the token
#: is made when master 0's chain runs and used by every node joined after it in the same
#: apply; a shorter one can expire under the nodes' joins.
MIN_TOKEN_TTL = "10m"


def validate_duration(value: str, field: str, minimum: Optional[str] = None) -> int:
    """A Go duration as kubeadm reads it (`provisioners.core.duration.parse`, the parser the
    chain renders with), not negative; zero only when written as zero ("0", "0s": an explicit
    choice), never as a value that rounds to it ("0.1ns"); at least `minimum` otherwise.
    Returns its nanoseconds."""
    rule = ("must be a Go duration: numbers with units h, m, s, ms, us (µs), ns, e.g. '24h', "
            "'1h30m', '90s', or '0'")
    if minimum is not None:
        rule += f"; not negative, '0' or at least {minimum}"
    try:
        ns = duration.parse(value)
    except duration.DurationError as e:
        raise ValidationError(field, value, f"{rule} ({e})") from None
    if ns < 0:
        raise ValidationError(field, value, f"{rule} (it is negative)")
    if ns == 0 and any(c in value for c in "123456789"):
        raise ValidationError(field, value, f"{rule} (it is under 1ns, so kubeadm would read "
                              "it as 0s: never expires; write '0' if that is meant)")
    if minimum is not None and 0 < ns < duration.parse(minimum):
        raise ValidationError(field, value, f"{rule} (it is {duration.render(ns)})")
    return ns


# --- hosts -------------------------------------------------------------------------------

def _validate_password_env(value: object, field: str, password_set: bool = True) -> None:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ValidationError(field, value, "must be the name of an environment variable "
                              "([A-Za-z_][A-Za-z0-9_]*) that holds the SSH password")
    if not password_set:
        return
    if value not in os.environ:
        raise ValidationError(field, value, f"the environment variable {value} is not set; "
                              "export it with the SSH password before running cdktf")
    if not os.environ[value]:
        raise ValidationError(field, value, f"the environment variable {value} is empty; "
                              "set it to the SSH password")


_HOST_KEY_CHOICES = ("host_key='ssh-ed25519 AAAA…' (the host's public key line), "
                      "known_hosts_file='~/.ssh/known_hosts' (a known_hosts file that holds "
                      "the host) or insecure_ignore_host_key=True (accept any key: anyone "
                      "who holds the address gets the cluster's secrets)")


def _validate_host_identity(host: Host, field: str) -> None:
    """Exactly one of host_key, known_hosts_file, insecure_ignore_host_key; a pinned key
    must be readable now (the constructs pin it at synth)."""
    if not isinstance(host.insecure_ignore_host_key, bool):
        raise ValidationError(f"{field}.insecure_ignore_host_key", host.insecure_ignore_host_key,
                              "must be True or False")
    given = [name for name, on in (("host_key", host.host_key is not None),
                                   ("known_hosts_file", host.known_hosts_file is not None),
                                   ("insecure_ignore_host_key", host.insecure_ignore_host_key))
             if on]
    if not given:
        raise ValidationError(f"{field}.host_key", None, "the host's identity is not "
                              f"verified: give one of {_HOST_KEY_CHOICES}")
    if len(given) > 1:
        raise ValidationError(f"{field}.{given[1]}", getattr(host, given[1]), f"give only one "
                              f"of host_key, known_hosts_file and insecure_ignore_host_key; "
                              f"{given[0]} is given too")
    if host.host_key is not None:
        try:
            hostkeys.parse_key_line(host.host_key, f"{field}.host_key")
        except hostkeys.HostKeyError as e:
            raise ValidationError(e.field, e.value, e.allowed) from None
    if host.known_hosts_file is not None:
        if not isinstance(host.known_hosts_file, str) or not host.known_hosts_file.strip():
            raise ValidationError(f"{field}.known_hosts_file", host.known_hosts_file,
                                  "must be the path of an OpenSSH known_hosts file")
        try:
            hostkeys.key_from_known_hosts(host.known_hosts_file, host.address, host.port)
        except hostkeys.HostKeyError as e:
            raise ValidationError(f"{field}.{e.field}", e.value, e.allowed) from None
    if host.insecure_ignore_host_key:
        hostkeys.warn_insecure(host, "Terraform")


def validate_host(host: Host, field: str, password_set: bool = True) -> None:
    """An SSH-reachable host; `field` is its path, e.g. 'masters[0]'. A bastion is checked
    the same way, as `<field>.bastion`. `password_set=False` checks a `password_env`'s name
    only: the provider's validation, which `terraform validate` runs without secrets (the
    SSH runner names the variable when it is missing at connect time)."""
    if not isinstance(host, Host):
        raise ValidationError(field, host, "must be a Host(address, port=22, user='root', "
                              "private_key_file=... or password_env=...)")
    if not _is_address(host.address):
        raise ValidationError(f"{field}.address", host.address, f"must be {_ADDRESS_RULE}")
    if not _is_port(host.port):
        raise ValidationError(f"{field}.port", host.port,
                              "must be an integer TCP port from 1 to 65535 (SSH: usually 22)")
    if not isinstance(host.user, str) or not host.user.strip():
        raise ValidationError(f"{field}.user", host.user,
                              "must be a non-empty login name, e.g. 'root' or 'ubuntu'")
    if not _LOGIN.fullmatch(host.user):
        raise ValidationError(f"{field}.user", host.user, "must be a login name (letters, "
                              "digits, '_', '.', '-'; not starting with '-' or '.', at most 32 "
                              "characters), e.g. 'root' or 'ubuntu'")
    if host.private_key_file is None and host.password_env is None:
        raise ValidationError(f"{field}.private_key_file", None, "the host has no SSH "
                              "credentials: set private_key_file (path of a private key) or "
                              "password_env (name of an environment variable holding the "
                              "password); an SSH agent alone is not supported yet")
    if host.private_key_file is not None:
        validate_private_key_file(host.private_key_file, f"{field}.private_key_file")
    if host.password_env is not None:
        _validate_password_env(host.password_env, f"{field}.password_env", password_set)
    _validate_host_identity(host, field)
    if host.name is not None:
        validate_dns1123_subdomain(host.name, f"{field}.name")
    if host.bastion is not None:
        if not isinstance(host.bastion, Host):
            raise ValidationError(f"{field}.bastion", host.bastion, "must be a Host or None")
        if host.bastion.bastion is not None:
            raise ValidationError(f"{field}.bastion.bastion", host.bastion.bastion.address,
                                  "a bastion cannot have its own bastion (Terraform supports "
                                  "one jump host); leave bastion.bastion out")
        validate_host(host.bastion, f"{field}.bastion", password_set)


def validate_node_host(host: Host, field: str, password_set: bool = True) -> None:
    """`validate_host`, plus: the host's key (name, else address) must be usable as a
    Kubernetes node name."""
    validate_host(host, field, password_set)
    if host.name is None and not _is_dns1123_subdomain(host.address):
        raise ValidationError(f"{field}.name", None, f"the address {host.address!r} cannot be "
                              "a Kubernetes node name; set name= to a DNS-1123 subdomain, "
                              "e.g. 'master-1'")


# --- the cluster -------------------------------------------------------------------------

def _host_list(value: object, field: str, address: str, when_empty: str) -> None:
    """`value` is a non-empty list of Host."""
    if isinstance(value, (str, Host)) or not isinstance(value, Sequence):
        raise ValidationError(field, value, f"must be a list of Host, e.g. {field}=[Host("
                              f"'{address}', private_key_file='~/.ssh/id_ed25519')]")
    if len(value) == 0:
        raise ValidationError(field, [], when_empty)


def _validate_masters(masters: object) -> None:
    _host_list(masters, "masters", "203.0.113.10",
               "give at least one master (1, 3 or 5 for etcd quorum)")
    for i, host in enumerate(masters):
        validate_node_host(host, f"masters[{i}]")
        if is_ip(host.address):
            ip = ipaddress.ip_address(host.address)
            if ip.is_unspecified or ip.is_loopback or ip.is_multicast:
                raise ValidationError(f"masters[{i}].address", host.address, "must be the "
                                      "master's own unicast address that edge nodes can "
                                      "reach, not unspecified (0.0.0.0, ::), loopback or "
                                      "multicast")
    seen_ssh: dict[tuple[str, int], int] = {}
    seen_key: dict[str, int] = {}
    for i, host in enumerate(masters):
        ssh = (host.address, host.port)
        if ssh in seen_ssh:
            raise ValidationError(f"masters[{i}].address", host.address,
                                  f"masters[{seen_ssh[ssh]}] already uses "
                                  f"{host.address} port {host.port}; every master must be a "
                                  "different machine")
        seen_ssh[ssh] = i
        if host.key in seen_key:
            f = f"masters[{i}].name" if host.name is not None else f"masters[{i}].address"
            raise ValidationError(f, host.key, f"masters[{seen_key[host.key]}] already has "
                                  f"the node name {host.key!r}; give each master a "
                                  "different name=")
        seen_key[host.key] = i
    unique_resource_names(masters, [f"masters[{i}]" for i in range(len(masters))])
    if len(masters) % 2 == 0:
        raise ValidationError("masters", len(masters), "an odd number of masters is required "
                              "(1, 3, 5, …): etcd needs a majority, so an even count adds "
                              "no fault tolerance; add or remove one master")


def validate_endpoint(value: object, field: str) -> None:
    rule = ("must be 'host:port' of your load balancer, e.g. 'lb.example.com:6443' or "
            "'[2001:db8::1]:6443'")
    parts = _split_host_port(value) if isinstance(value, str) else None
    if parts is None:
        raise ValidationError(field, value, rule)
    host, port = parts
    if not _is_address(host) or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValidationError(field, value, rule)


def _validate_ha(spec: ClusterSpec) -> None:
    ha = spec.ha
    if ha is None:
        if len(spec.masters) > 1 and not spec.api_server_address:
            raise ValidationError("ha", None, f"{len(spec.masters)} masters need one address "
                                  "for the API server: set ha=HA(vip='<free IP>') for kube-vip, "
                                  "ha=HA(endpoint='<lb>:6443') for your own load balancer, or "
                                  "api_server_address to a name that reaches all masters")
        return
    if not isinstance(ha, HA):
        raise ValidationError("ha", ha, "must be HA(vip=...) or HA(endpoint=...), or None")
    if ha.vip is None and ha.endpoint is None:
        raise ValidationError("ha", ha, "set exactly one of vip (a free IP that kube-vip "
                              "serves) or endpoint ('host:port' of your load balancer)")
    if ha.vip is not None and ha.endpoint is not None:
        raise ValidationError("ha", ha, "set only one of vip (kube-vip) or endpoint (your own "
                              "load balancer), not both")
    if ha.vip is not None:
        if not is_ip(ha.vip):
            raise ValidationError("ha.vip", ha.vip, "must be an IP address (a free address in "
                                  "the masters' subnet that kube-vip will serve), e.g. "
                                  "'192.168.1.100'")
        ip = ipaddress.ip_address(ha.vip)
        if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local:
            raise ValidationError("ha.vip", ha.vip, "must be a unicast address in the masters' "
                                  "subnet, not loopback, unspecified, multicast or link-local")
        for i, host in enumerate(spec.masters):
            if is_ip(host.address) and ipaddress.ip_address(host.address) == ip:
                raise ValidationError("ha.vip", ha.vip, f"is masters[{i}].address; the VIP "
                                      "must be a free address no host uses")
        if ha.interface is not None and (not isinstance(ha.interface, str)
                                         or not _IFNAME.fullmatch(ha.interface)):
            raise ValidationError("ha.interface", ha.interface, "must be a network interface "
                                  "name (1-15 characters, no spaces, '/' or ':'), e.g. 'eth0'")
    else:
        if ha.interface is not None:
            raise ValidationError("ha.interface", ha.interface, "only applies with ha.vip "
                                  "(kube-vip); leave it out with ha.endpoint")
        validate_endpoint(ha.endpoint, "ha.endpoint")


def _validate_versions(spec: ClusterSpec) -> None:
    se = spec.superedge
    if not isinstance(se, SuperEdge):
        raise ValidationError("superedge", se, "must be SuperEdge(version=...)")
    if se.version not in SUPPORTED_VERSIONS:
        raise ValidationError("superedge.version", se.version,
                              f"supported pairs: {_supported_pairs()}")
    if spec.kubernetes_version not in SUPPORTED_VERSIONS[se.version]:
        hint = ""
        if isinstance(spec.kubernetes_version, str) and spec.kubernetes_version.startswith("v"):
            hint = " (write the version without the leading 'v')"
        raise ValidationError("kubernetes_version", spec.kubernetes_version,
                              f"SuperEdge {se.version} installs Kubernetes "
                              f"{' or '.join(SUPPORTED_VERSIONS[se.version])}{hint}; "
                              f"supported pairs: {_supported_pairs()}")


def _validate_superedge(se: SuperEdge) -> None:
    # The chain fills SuperEdge's manifests itself (EnsureEdgeAppsManifests) and updates the
    # workloads' images (EnsureEdgeComponentsVersion): a repository of its own is honoured.
    if se.image_repository is not None and (
            not isinstance(se.image_repository, str)
            or not IMAGE_REPOSITORY_RE.fullmatch(se.image_repository)):
        raise ValidationError("superedge.image_repository", se.image_repository,
                              "an image repository: host[:port]/path in lower case, e.g. "
                              "'registry.example.com:5000/superedge', or None for edgeadm's")
    validate_virtual_address(se.virtual_address, "superedge.virtual_address")


def validate_virtual_address(value: object, field: str) -> None:
    """lite-apiserver's address on edge nodes: an IPv4 link-local address, not reserved."""
    rule = ("must be an IPv4 link-local address in 169.254.1.0-169.254.254.255 (RFC 3927), "
            f"not 169.254.169.254 (cloud metadata); edgeadm's default is "
            f"{DEFAULT_VIRTUAL_ADDRESS}")
    try:
        va = ipaddress.IPv4Address(value)
    except (ValueError, TypeError):
        raise ValidationError(field, value, rule) from None
    if (va not in _LINK_LOCAL or any(va in n for n in _LINK_LOCAL_RESERVED)
            or va == _CLOUD_METADATA):
        raise ValidationError(field, value, rule)


def _validate_install_package(pkg: object) -> None:
    if not isinstance(pkg, InstallPackage):
        raise ValidationError("install_package", pkg, "must be InstallPackage(path=... or "
                              "url=..., sha256=...)")
    if (pkg.path is None) == (pkg.url is None):
        raise ValidationError("install_package", pkg, "set exactly one of path (a local "
                              "kube-linux-<arch>-v<version>.tar.gz, uploaded to each host) or "
                              "url (downloaded by each host)")
    if pkg.sha256 is None:
        raise ValidationError("install_package.sha256", None, "is required: the SHA-256 of the "
                              "package, 64 lowercase hex characters (sha256sum <file>)")
    if not isinstance(pkg.sha256, str) or not _SHA256.fullmatch(pkg.sha256):
        raise ValidationError("install_package.sha256", pkg.sha256, "must be 64 lowercase hex "
                              "characters, as printed by 'sha256sum <file>'")
    if pkg.path is not None:
        if not is_local_file(pkg.path):
            raise ValidationError("install_package.path", pkg.path, "no such file; give the "
                                  "path of the downloaded kube-linux-<arch>-v<version>.tar.gz "
                                  "('~' is expanded)")
        # The file is here: a wrong checksum is found now, not on every host at deploy.
        actual = file_sha256(local_file(pkg.path))
        if actual != pkg.sha256:
            raise ValidationError("install_package.sha256", pkg.sha256,
                                  f"does not match {pkg.path}, whose SHA-256 is {actual}: "
                                  f"a damaged or different download, or a stale sha256")
    else:
        u = urlparse(pkg.url) if isinstance(pkg.url, str) else None
        if u is None or u.scheme not in ("http", "https") or not u.netloc:
            raise ValidationError("install_package.url", pkg.url, "must be an http:// or "
                                  "https:// URL that every host can download")
    if pkg.arch not in ARCHES:
        raise ValidationError("install_package.arch", pkg.arch,
                              f"must be one of {', '.join(ARCHES)}")


def _network(value: object, field: str, what: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except (ValueError, TypeError) as e:
        hint = ""
        if isinstance(value, str):
            try:
                hint = f" (did you mean {ipaddress.ip_network(value, strict=False)}?)"
            except ValueError:
                pass
        raise ValidationError(field, value, f"must be an IPv4 network in CIDR notation with "
                              f"no host bits set, e.g. '{what}'{hint}") from e
    if net.version != 4:
        raise ValidationError(field, value, f"must be an IPv4 network (IPv6 is not supported "
                              f"yet), e.g. '{what}'")
    return net


def _validate_networks(spec: ClusterSpec) -> None:
    pod = _network(spec.pod_cidr, "pod_cidr", "10.244.0.0/16")
    if not POD_PREFIX_MIN <= pod.prefixlen <= POD_PREFIX_MAX:
        raise ValidationError("pod_cidr", spec.pod_cidr, f"the prefix length must be from "
                              f"/{POD_PREFIX_MIN} to /{POD_PREFIX_MAX} (each node gets a /24), "
                              "e.g. '10.244.0.0/16'")
    svc = _network(spec.service_cidr, "service_cidr", "10.96.0.0/12")
    if not SERVICE_PREFIX_MIN <= svc.prefixlen <= SERVICE_PREFIX_MAX:
        raise ValidationError("service_cidr", spec.service_cidr, f"the prefix length must be "
                              f"from /{SERVICE_PREFIX_MIN} to /{SERVICE_PREFIX_MAX} (kube-"
                              "apiserver limit), e.g. '10.96.0.0/12'")
    if pod.overlaps(svc):
        raise ValidationError("service_cidr", spec.service_cidr, f"overlaps pod_cidr "
                              f"{spec.pod_cidr}; choose non-overlapping ranges, e.g. pod_cidr "
                              "'10.244.0.0/16' and service_cidr '10.96.0.0/12'")
    va = ipaddress.IPv4Address(spec.superedge.virtual_address)
    for field, value, net in (("pod_cidr", spec.pod_cidr, pod),
                              ("service_cidr", spec.service_cidr, svc)):
        if va in net:
            raise ValidationError(field, value, "contains superedge.virtual_address "
                                  f"{spec.superedge.virtual_address}; use a range outside "
                                  "169.254.0.0/16")
        used = [(f"masters[{i}].address", h.address) for i, h in enumerate(spec.masters)]
        used += [("ha.vip", spec.ha.vip)] if spec.ha and spec.ha.vip else []
        used += [("api_server_address", spec.api_server_address)]
        for name, addr in used:
            if is_ip(addr) and ipaddress.ip_address(addr) in net:
                raise ValidationError(field, value, f"contains {name} {addr}; the cluster's "
                                      "ranges must not overlap the hosts' network")


def _validate_registry(reg: object) -> None:
    if not isinstance(reg, Registry):
        raise ValidationError("registry", reg, "must be Registry(domain=..., address=...) or None")
    if reg.domain is not None:
        validate_dns1123_subdomain(reg.domain, "registry.domain")
    if reg.address is not None:
        if reg.domain is None:
            raise ValidationError("registry.domain", None, f"registry.address {reg.address!r} "
                                  "is written to /etc/hosts under registry.domain; set domain "
                                  "too, e.g. 'registry.example.com'")
        if not is_ip(reg.address):
            raise ValidationError("registry.address", reg.address, "must be the registry's IP "
                                  "address (written to /etc/hosts for registry.domain)")
    if not isinstance(reg.insecure, bool):
        raise ValidationError("registry.insecure", reg.insecure, "must be True or False")
    if isinstance(reg.mirrors, str) or not isinstance(reg.mirrors, Sequence):
        raise ValidationError("registry.mirrors", reg.mirrors, "must be a list of URLs")
    for i, m in enumerate(reg.mirrors):
        u = urlparse(m) if isinstance(m, str) else None
        if u is None or u.scheme not in ("http", "https") or not u.netloc:
            raise ValidationError(f"registry.mirrors[{i}]", m, "must be an http:// or https:// "
                                  "URL, e.g. 'https://mirror.example.com'")


def _validate_files(files: object) -> None:
    if isinstance(files, str) or not isinstance(files, Sequence):
        raise ValidationError("files", files, "must be a list of File(src, dst)")
    dsts: dict[str, int] = {}
    for i, f in enumerate(files):
        if not isinstance(f, File):
            raise ValidationError(f"files[{i}]", f, "must be File(src, dst, mode='0644')")
        if not is_local_file(f.src):
            raise ValidationError(f"files[{i}].src", f.src, "no such local file ('~' is "
                                  "expanded); give the path of an existing file")
        if (not isinstance(f.dst, str) or not f.dst.startswith("/")
                or f.dst.endswith("/") or any(c in f.dst for c in "\n\r\0")):
            raise ValidationError(f"files[{i}].dst", f.dst, "must be an absolute file path on "
                                  "the hosts, e.g. '/etc/myapp/config.yaml'")
        if ".." in PurePosixPath(f.dst).parts:
            raise ValidationError(f"files[{i}].dst", f.dst, "must not contain '..'; give the "
                                  "final absolute path")
        # Checked in its one spelling: '//etc/kubernetes/…' and '/etc/./kubernetes/…' are
        # /etc/kubernetes/… on the host.
        dst = normalize_host_path(f.dst)
        protected = protected_root(dst)
        if protected:
            raise ValidationError(f"files[{i}].dst", f.dst, f"lies in {protected}, which "
                                  "the chain manages (the cluster's keys, configs and state); "
                                  "copy your file somewhere else")
        if dst in dsts:
            raise ValidationError(f"files[{i}].dst", f.dst, f"files[{dsts[dst]}] already "
                                  "copies to this path; each dst must be different")
        dsts[dst] = i
        if not isinstance(f.mode, str) or not _MODE.fullmatch(f.mode):
            raise ValidationError(f"files[{i}].mode", f.mode, "must be an octal mode string "
                                  "such as '0644' or '0600'")


def _validate_hooks(hooks: object) -> None:
    if not isinstance(hooks, Hooks):
        raise ValidationError("hooks", hooks, "must be Hooks(pre_install=..., ...)")
    for name in ("pre_install", "post_install", "pre_cluster_install", "post_cluster_install"):
        value = getattr(hooks, name)
        if value is not None and not isinstance(value, str):
            raise ValidationError(f"hooks.{name}", value, "must be the text of a shell script "
                                  "(a str), or None to run nothing")


def _validate_credentials(spec: ClusterSpec) -> None:
    if spec.credentials_dir is not None:
        # The identity lives in Terraform state now (edge_cluster_identity); a directory made
        # by an earlier release is brought in once with `terraform import`.
        raise ValidationError("credentials_dir", spec.credentials_dir,
                              "no longer used: the cluster's identity lives in Terraform state. "
                              "Remove credentials_dir; for a cluster deployed with it, run once: "
                              "terraform import edge_cluster_identity.<cluster id>_identity "
                              "<that directory> (README, 'Cluster identity')")
    validate_token_rotation(spec.token_rotation, "token_rotation")
    validate_leaf_validity_days(spec.leaf_validity_days, "leaf_validity_days")
    validate_admin_credential_rotation(spec.admin_credential_rotation, "admin_credential_rotation")
    validate_renewal_window(spec.certificate_renewal_before, "certificate_renewal_before",
                            certificates.SHORTEST_LIFE)
    if not isinstance(spec.replace_identity, bool):
        raise ValidationError("replace_identity", spec.replace_identity, "True or False")
    validate_ca_files(spec.ca_cert_file, spec.ca_key_file)


def validate_token_rotation(value: object, field: str) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValidationError(field, value, "a non-empty string (any: change it to rotate the "
                              "bootstrap token, e.g. \"2026-12\"), or None")


def validate_admin_credential_rotation(value: object, field: str) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValidationError(field, value, "a non-empty string (any: change it to re-issue the "
                              "admin certificate, e.g. \"2026-12\"), or None")


def validate_renewal_window(value: object, field: str,
                            life=certificates.KUBEADM_VALIDITY) -> None:
    """A Go duration from 1m to under `life` (the shortest life of a certificate it renews),
    or "renew-now": a longer window would renew a certificate at every apply without saying
    so."""
    if value == certificates.RENEW_NOW:
        return
    if not isinstance(value, str):
        raise ValidationError(field, value, 'a Go duration such as "720h", or "renew-now"')
    ns = validate_duration(value, field, "1m")
    if ns == 0 or ns >= life.total_seconds() * 1e9:
        raise ValidationError(field, value, f"at least 1m and shorter than the shortest life of "
                              f"a certificate it renews ({int(life.total_seconds() // 3600)}h): "
                              "a window as long renews that certificate at every apply. To "
                              "renew every certificate now, once, set \"renew-now\" for one "
                              "apply, then remove it")


def validate_leaf_validity_days(days: object, field: str) -> None:
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= 3650):
        raise ValidationError(field, days, "a whole number of days from 1 to 3650, or None "
                              "for 365")


def validate_ca_files(ca_cert_file: object, ca_key_file: object) -> None:
    """Your own cluster CA: both files or neither, each an existing file."""
    if (ca_cert_file is None) != (ca_key_file is None):
        missing = "ca_key_file" if ca_key_file is None else "ca_cert_file"
        raise ValidationError(missing, None, "ca_cert_file and ca_key_file go together: give "
                              "both (your own cluster CA) or neither (a new CA is generated)")
    for name, value in (("ca_cert_file", ca_cert_file), ("ca_key_file", ca_key_file)):
        if value is not None and not is_local_file(value):
            raise ValidationError(name, value, "no such file ('~' is expanded); give the path "
                                  "of an existing PEM file")


def refuse_nul(value: object, field: str) -> None:
    """No text anywhere in a prop holds a NUL character: no file, script or command line can
    carry one. Walks dataclasses, sequences and mappings, naming the exact field."""
    if isinstance(value, str):
        if "\0" in value:
            raise ValidationError(field, value, "holds a NUL character, which no file, script "
                                  "or command line can carry; remove it")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            refuse_nul(getattr(value, f.name), f"{field}.{f.name}" if field else f.name)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            refuse_nul(k, f"{field}[{k!r}]")
            refuse_nul(v, f"{field}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            refuse_nul(v, f"{field}[{i}]")


def validate_cluster(spec: ClusterSpec, *, step_names: Collection[str]) -> None:
    """Check every prop of `spec`; raise `ValidationError` on the first problem.
    `step_names` are the steps of the chain, the only names `skip_steps` may hold."""
    if not isinstance(spec, ClusterSpec):
        raise ValidationError("spec", spec, "must be a ClusterSpec")
    refuse_nul(spec, "")
    validate_dns1123_label(spec.name, "name")
    _validate_masters(spec.masters)
    _validate_ha(spec)
    if spec.api_server_address is not None and not _is_address(spec.api_server_address):
        raise ValidationError("api_server_address", spec.api_server_address,
                              f"must be {_ADDRESS_RULE}, that edge nodes can reach")
    if not _is_port(spec.api_server_port):
        raise ValidationError("api_server_port", spec.api_server_port,
                              "must be an integer TCP port from 1 to 65535 (default 6443)")
    if spec.api_server_port in RESERVED_PORTS:
        raise ValidationError("api_server_port", spec.api_server_port,
                              f"is the port of {RESERVED_PORTS[spec.api_server_port]} on every "
                              "master; choose another (default 6443)")
    _validate_versions(spec)
    _validate_install_package(spec.install_package)
    _validate_superedge(spec.superedge)
    _validate_networks(spec)
    validate_dns1123_subdomain(spec.dns_domain, "dns_domain")
    if isinstance(spec.cert_sans, str) or not isinstance(spec.cert_sans, Sequence):
        raise ValidationError("cert_sans", spec.cert_sans, "must be a list of IP addresses "
                              "and DNS names")
    for i, san in enumerate(spec.cert_sans):
        if not (is_ip(san) or _is_dns1123_subdomain(san) or (
                isinstance(san, str) and san.startswith("*.")
                and _is_dns1123_subdomain(san[2:]))):
            raise ValidationError(f"cert_sans[{i}]", san, "must be an IP address or a DNS name "
                                  "(RFC 1123, lowercase; '*.example.com' allowed), e.g. the "
                                  "masters' public IP or domain")
    if spec.container_runtime not in CONTAINER_RUNTIMES:
        raise ValidationError("container_runtime", spec.container_runtime,
                              f"must be one of {', '.join(CONTAINER_RUNTIMES)}")
    if spec.registry is not None:
        _validate_registry(spec.registry)
    _validate_files(spec.files)
    _validate_hooks(spec.hooks)
    if isinstance(spec.skip_steps, str) or not isinstance(spec.skip_steps, Sequence):
        raise ValidationError("skip_steps", spec.skip_steps, "must be a list of step names")
    for i, step in enumerate(spec.skip_steps):
        if step in UNSKIPPABLE_STEPS:
            raise ValidationError(f"skip_steps[{i}]", step, f"cannot be skipped: "
                                  f"{UNSKIPPABLE_STEPS[step]}")
        if step not in step_names:
            raise ValidationError(f"skip_steps[{i}]", step,
                                  f"unknown step; known steps: {', '.join(step_names)}")
    validate_duration(spec.join_token_ttl, "join_token_ttl", MIN_TOKEN_TTL)
    if isinstance(spec.ssh_timeout, bool) or not isinstance(spec.ssh_timeout, int) \
            or not 1 <= spec.ssh_timeout <= 3600:
        raise ValidationError("ssh_timeout", spec.ssh_timeout, "must be whole seconds from 1 "
                              "to 3600: how long Terraform keeps trying to reach a host "
                              "(default 30)")
    _validate_credentials(spec)


def cluster_spec(props: Mapping[str, object], *, step_names: Collection[str]) -> ClusterSpec:
    """The EdgeCluster props as a validated ClusterSpec: an unknown or missing prop is a
    ValidationError naming it, like every other problem."""
    known = ClusterSpec.prop_names()
    for name in props:
        if name not in known:
            raise ValidationError(name, props[name], f"is not a prop of EdgeCluster; the props "
                                  f"are: {', '.join(known)}")
    for name in ("name", "masters", "install_package"):
        if name not in props:
            raise ValidationError(name, None, "is required")
    spec = ClusterSpec(**props)
    validate_cluster(spec, step_names=step_names)
    return spec


# --- edge nodes ------------------------------------------------------------------------------

def validate_edge_nodes(spec: ClusterSpec, hosts: object, field: str,
                        labels: Mapping[str, str], taints: Sequence[str],
                        node_unit: Optional[str]) -> None:
    """The props of an EdgeNode (`field` "host") or EdgeNodePool (`field` "hosts") that
    joins the cluster `spec`."""
    for value, name in ((hosts, field), (labels, "labels"), (taints, "taints"),
                        (node_unit, "node_unit")):
        refuse_nul(value, name)
    if field == "hosts":
        _host_list(hosts, "hosts", "198.51.100.20", "a pool needs at least one Host; remove "
                   "the EdgeNodePool to remove all its nodes")
    names = host_fields(hosts, field)
    for name, host in zip(names, hosts):
        validate_node_host(host, name)
        if host.name is None:
            raise ValidationError(f"{name}.name", None, "an edge node needs a name: it is its "
                                  "Node's name and the key of its resource, so that a new "
                                  "address for the same name moves the connection instead of "
                                  "replacing the node; give a DNS-1123 subdomain, e.g. "
                                  f"Host({host.address!r}, name='shop-12')")
    masters = {(m.address, m.port): i for i, m in enumerate(spec.masters)}
    master_keys = {m.key: i for i, m in enumerate(spec.masters)}
    seen: dict[str, str] = {}
    for name, host in zip(names, hosts):
        i = masters.get((host.address, host.port), master_keys.get(host.key))
        if i is not None:
            raise ValidationError(f"{name}.address", host.address,
                                  f"is master {i} of cluster {spec.name!r}; a host is "
                                  "either a master or an edge node, not both")
        for key in {host.key, f"{host.address}:{host.port}"}:
            if key in seen:
                raise ValidationError(name, host.key, f"{seen[key]} is the same host; list "
                                      "each host once")
            seen[key] = name
    unique_resource_names(hosts, names)
    if node_unit is not None:
        validate_dns1123_label(node_unit, "node_unit")
    validate_labels(labels, "labels")
    validate_taints(taints, "taints")


# --- the provider's resources, as Terraform gives them (written by hand or synthesized) -------

def _whole(value: object) -> object:
    """A Terraform number that is whole, as an int (Terraform may send 365.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def validate_identity_resource(attrs: Mapping[str, object]) -> None:
    """`edge_cluster_identity`'s known attributes by the rules of the props they come from
    (`name`, the API endpoint, `superedge.virtual_address`, ...). Field names are the
    resource's attribute names."""
    if attrs.get("cluster_name") is not None:
        validate_dns1123_label(attrs["cluster_name"], "cluster_name")
    if attrs.get("endpoint") is not None:
        validate_endpoint(attrs["endpoint"], "endpoint")
    if attrs.get("virtual_address") is not None:
        validate_virtual_address(attrs["virtual_address"], "virtual_address")
    ip = attrs.get("kubernetes_service_ip")
    if ip is not None and not is_ip(ip):
        raise ValidationError("kubernetes_service_ip", ip, "must be the IP address of the "
                              "`kubernetes` Service (the first address of service_cidr)")
    validate_leaf_validity_days(_whole(attrs.get("leaf_validity_days")), "leaf_validity_days")
    validate_token_rotation(attrs.get("token_rotation"), "token_rotation")
    validate_admin_credential_rotation(attrs.get("admin_credential_rotation"),
                                       "admin_credential_rotation")
    if attrs.get("renew_before") is not None:
        validate_renewal_window(attrs["renew_before"], "renew_before", certificates.SHORTEST_LIFE)
    if "ca_cert_file" in attrs and "ca_key_file" in attrs:    # (one unknown yet: later)
        validate_ca_files(attrs.get("ca_cert_file"), attrs.get("ca_key_file"))


def _host_attribute(raw: object) -> Host:
    """A resource's `host`: the JSON of a Host, checked as `validate_node_host` does, but
    for whether its `password_env` is set: the provider reads it when it connects."""
    import json
    from provisioners.core.errors import InventoryError
    try:
        host = Host.from_dict(json.loads(raw) if isinstance(raw, str) else raw, "host")
    except (ValueError, InventoryError) as e:
        raise ValidationError("host", raw, f"must be the JSON of a Host (address, port, "
                              f"user, private_key_file or password_env, host_key ...): {e}") from None
    validate_node_host(host, "host", password_set=False)
    return host


def validate_master_certificates_resource(attrs: Mapping[str, object]) -> None:
    """`edge_master_certificates`' known attributes: the master a DNS-1123 subdomain, its
    host a `Host`, the API server "address:port", the renewal window."""
    if attrs.get("master") is not None:
        validate_dns1123_subdomain(attrs["master"], "master")
    if attrs.get("host") is not None:
        _host_attribute(attrs["host"])
    if attrs.get("api_server") is not None:
        validate_endpoint(attrs["api_server"], "api_server")
    if attrs.get("renew_before") is not None:
        validate_renewal_window(attrs["renew_before"], "renew_before")


def validate_node_resource(attrs: Mapping[str, object]) -> None:
    """`edge_node`'s known attributes by the rules of EdgeNode/EdgeNodePool: the name (a
    path under edge-logs/, a name in API URLs) a DNS-1123 subdomain, the host a `Host` as
    `validate_node_host` accepts it and named `name`, labels, taints, node unit, package."""
    name = attrs.get("name")
    if name is not None:
        validate_dns1123_subdomain(name, "name")
    if attrs.get("host") is not None:
        host = _host_attribute(attrs["host"])
        if name is not None and host.name is not None and host.name != name:
            raise ValidationError("host.name", host.name, f"must be the resource's name "
                                  f"{name!r} (the Node's name), or left out")
    if attrs.get("labels") is not None:
        validate_labels(attrs["labels"], "labels")
    if attrs.get("taints") is not None:
        validate_taints(list(attrs["taints"]), "taints")
    if attrs.get("node_unit") is not None:
        validate_dns1123_label(attrs["node_unit"], "node_unit")
    if attrs.get("package") is not None:
        _validate_node_package(attrs["package"])
    for field, most in (("ready_timeout", 86400), ("drain_timeout", 86400)):
        v = _whole(attrs.get(field))
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= most):
            raise ValidationError(field, attrs.get(field), f"whole seconds from 1 to {most}")


def _validate_node_package(raw: object) -> None:
    import json
    rule = ('must be JSON {"local_path": <absolute path of an existing file>, "remote_path": '
            '<absolute path on the host>, "sha256": <64 lowercase hex>}')
    try:
        pkg = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        pkg = None
    if not isinstance(pkg, dict) or set(pkg) != {"local_path", "remote_path", "sha256"}:
        raise ValidationError("package", raw, rule)
    if not isinstance(pkg["local_path"], str) or not os.path.isabs(pkg["local_path"]) \
            or not is_local_file(pkg["local_path"]):
        raise ValidationError("package.local_path", pkg["local_path"], rule)
    try:
        if normalize_host_path(pkg["remote_path"]) != pkg["remote_path"]:
            raise ValueError(pkg["remote_path"])
    except ValueError:
        raise ValidationError("package.remote_path", pkg["remote_path"], rule + " (written "
                              "in its one spelling, no '//', '.' or '..')") from None
    if not isinstance(pkg["sha256"], str) or not _SHA256.fullmatch(pkg["sha256"]):
        raise ValidationError("package.sha256", pkg["sha256"], rule)
