"""edge_constructs.validation: every bad prop is refused with a message naming the field and the value."""
from __future__ import annotations

import dataclasses
import hashlib

import pytest

from provisioners.core.errors import ValidationError
from provisioners.core.props import (HA, ClusterSpec, File, Hooks, Host, InstallPackage,
                                    Registry, SuperEdge)
from edge_constructs.validation import (SUPPORTED_VERSIONS, validate_cluster,
                                        validate_dns1123_label, validate_dns1123_subdomain,
                                        validate_duration, validate_host, validate_labels,
                                        validate_taints)

STEPS = ("EnsureCopyFiles", "EnsureSysctl", "EnsureDisableSwap", "EnsureKubeadmInit",
         "EnsureCertificates")
SHA = hashlib.sha256(b"not really a tarball").hexdigest()  # the package fixture's
def _new_key_text() -> str:
    """An ed25519 private key in OpenSSH format, made at test time (none is committed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()


KEY_TEXT = _new_key_text()
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILXchbf1Kc2mj4sbAi2X0es3/XbCgcrXBfyZZhCT22Q9"


@pytest.fixture
def key(tmp_path):
    p = tmp_path / "id_ed25519"
    p.write_text(KEY_TEXT)
    return str(p)


@pytest.fixture
def package(tmp_path):
    p = tmp_path / "kube-linux-amd64-v1.22.6.tar.gz"
    p.write_bytes(b"not really a tarball")
    return str(p)


@pytest.fixture
def host(key):
    def make(address="203.0.113.10", **kw):
        kw.setdefault("private_key_file", key)
        if "known_hosts_file" not in kw and "insecure_ignore_host_key" not in kw:
            kw.setdefault("host_key", HOST_KEY)
        return Host(address, **kw)
    return make


@pytest.fixture
def spec(host, package):
    return ClusterSpec(
        name="shenzhen-edge",
        masters=[host()],
        api_server_address="edge.example.com",
        kubernetes_version="1.22.6",
        install_package=InstallPackage(path=package, sha256=SHA),
        superedge=SuperEdge(version="v0.9.0"),
    )


def fails(spec, field, value, *, step_names=STEPS):
    with pytest.raises(ValidationError) as exc:
        validate_cluster(spec, step_names=step_names)
    err = exc.value
    assert err.field == field, str(err)
    assert str(value) in str(err), str(err)
    assert str(err).startswith(field + ":")
    return str(err)


def with_(spec, **kw):
    return dataclasses.replace(spec, **kw)


# --- good specs ----------------------------------------------------------------------------

def test_good_spec_passes(spec):
    validate_cluster(spec, step_names=STEPS)


def test_good_full_spec_passes(spec, host, tmp_path, monkeypatch):
    monkeypatch.setenv("EDGE_SSH_PASSWORD", "s3cret")
    src = tmp_path / "app.conf"
    src.write_text("x")
    full = with_(
        spec,
        masters=[host("192.0.2.1", name="master-1"),
                 host("master2.example.com", port=2222, user="ubuntu"),
                 Host("2001:db8::3", name="master-3", password_env="EDGE_SSH_PASSWORD",
                      bastion=host("bastion.example.com"),
                      host_key=HOST_KEY + " comment")],
        api_server_address=None,
        ha=HA(vip="192.0.2.100", interface="eth0"),
        cert_sans=["203.0.113.10", "edge.example.com", "*.edge.example.com"],
        container_runtime="docker",
        registry=Registry(domain="registry.example.com", address="192.0.2.50",
                          mirrors=["https://mirror.example.com"]),
        files=[File(str(src), "/etc/app/app.conf", "0600")],
        hooks=Hooks(pre_install="echo hi"),
        skip_steps=["EnsureSysctl"],
        join_token_ttl="1h30m",
    )
    validate_cluster(full, step_names=STEPS)
    validate_cluster(with_(full, ha=HA(endpoint="lb.example.com:6443")), step_names=STEPS)
    validate_cluster(with_(full, ha=None, api_server_address="lb.example.com"),
                     step_names=STEPS)


def test_url_install_package_passes(spec):
    validate_cluster(with_(spec, install_package=InstallPackage(
        url="https://example.com/kube-linux-arm64-v1.22.6.tar.gz", sha256=SHA, arch="arm64")),
        step_names=STEPS)


def test_tilde_in_key_path_is_expanded(spec, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519").write_text(KEY_TEXT)
    validate_cluster(with_(spec, masters=[Host("203.0.113.10",
                                               private_key_file="~/.ssh/id_ed25519",
                                               host_key=HOST_KEY)]),
                     step_names=STEPS)


def test_supported_versions_include_v0_9_0():
    assert SUPPORTED_VERSIONS["v0.9.0"] == ("1.22.6",)


# --- hosts ---------------------------------------------------------------------------------

def test_fails_when_host_address_is_not_ip_nor_hostname(spec, host):
    fails(with_(spec, masters=[host("bad_host!")]), "masters[0].address", "bad_host!")


def test_fails_when_host_address_is_malformed_ipv4(spec, host):
    fails(with_(spec, masters=[host("10.0.0.256")]), "masters[0].address", "10.0.0.256")


def test_fails_when_host_address_is_uppercase(spec, host):
    fails(with_(spec, masters=[host("Node1.Example.com")]), "masters[0].address",
          "Node1.Example.com")


def test_fails_when_host_port_is_zero(spec, host):
    fails(with_(spec, masters=[host(port=0)]), "masters[0].port", "0")


def test_fails_when_host_port_is_too_large(spec, host):
    fails(with_(spec, masters=[host(port=70000)]), "masters[0].port", "70000")


def test_fails_when_host_port_is_a_string(spec, host):
    fails(with_(spec, masters=[host(port="22")]), "masters[0].port", "22")


def test_fails_when_host_user_is_empty(spec, host):
    msg = fails(with_(spec, masters=[host(user="")]), "masters[0].user", "''")
    assert "root" in msg


def test_fails_when_host_has_no_credentials(spec):
    msg = fails(with_(spec, masters=[Host("203.0.113.10")]),
                "masters[0].private_key_file", "None")
    assert "password_env" in msg


def test_fails_when_private_key_file_does_not_exist(spec, host, tmp_path):
    missing = str(tmp_path / "nope")
    fails(with_(spec, masters=[host(private_key_file=missing)]),
          "masters[0].private_key_file", missing)


def test_fails_when_private_key_file_is_a_public_key(spec, host, tmp_path):
    pub = tmp_path / "id_ed25519.pub"
    pub.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host\n")
    msg = fails(with_(spec, masters=[host(private_key_file=str(pub))]),
                "masters[0].private_key_file", str(pub))
    assert "public key" in msg


def test_fails_when_password_env_is_not_set(spec, monkeypatch):
    monkeypatch.delenv("EDGE_TEST_UNSET_PW", raising=False)
    fails(with_(spec, masters=[Host("203.0.113.10", password_env="EDGE_TEST_UNSET_PW")]),
          "masters[0].password_env", "EDGE_TEST_UNSET_PW")


@pytest.mark.parametrize("check", ["validate_node_resource", "validate_master_certificates_resource"])
def test_the_providers_resources_check_a_password_envs_name_but_not_that_it_is_set(check,
                                                                                   monkeypatch):
    # `terraform validate` runs without secrets: the provider reads the variable when it connects
    import json
    from edge_constructs.validation import rules
    monkeypatch.delenv("EDGE_TEST_UNSET_PW", raising=False)
    host = {"address": "192.0.2.10", "name": "n1", "password_env": "EDGE_TEST_UNSET_PW",
            "host_key": HOST_KEY}
    getattr(rules, check)({"host": json.dumps(host)})
    with pytest.raises(ValidationError) as e:
        getattr(rules, check)({"host": json.dumps(dict(host, password_env="no-such name"))})
    assert e.value.field == "host.password_env" and "environment variable" in str(e.value)


def test_fails_when_host_key_is_malformed(spec, host):
    fails(with_(spec, masters=[host(host_key="not a key")]), "masters[0].host_key", "not a key")


def test_fails_when_host_name_is_not_a_node_name(spec, host):
    fails(with_(spec, masters=[host(name="Master_1")]), "masters[0].name", "Master_1")


def test_fails_when_ipv6_master_has_no_name(spec, host):
    fails(with_(spec, masters=[host("2001:db8::1")]), "masters[0].name", "2001:db8::1")


def test_fails_when_bastion_is_invalid(spec, host):
    fails(with_(spec, masters=[host(bastion=host("bad host"))]),
          "masters[0].bastion.address", "bad host")


def test_fails_when_bastion_has_no_credentials(spec, host):
    fails(with_(spec, masters=[host(bastion=Host("198.51.100.1"))]),
          "masters[0].bastion.private_key_file", "None")


def test_fails_when_bastion_has_a_bastion(spec, host):
    fails(with_(spec, masters=[host(bastion=host("198.51.100.1", bastion=host("198.51.100.2")))]),
          "masters[0].bastion.bastion", "198.51.100.2")


def test_fails_when_second_master_is_invalid(spec, host):
    fails(with_(spec, masters=[host("192.0.2.1"), host("192.0.2.2", port=-1), host("192.0.2.3")]),
          "masters[1].port", "-1")


def test_validate_host_directly(host):
    validate_host(host(), "nodes[0]")
    with pytest.raises(ValidationError) as exc:
        validate_host(host("-bad-"), "nodes[3]")
    assert exc.value.field == "nodes[3].address"


# --- masters -------------------------------------------------------------------------------

@pytest.mark.parametrize("prop,value,field,shown", [
    pytest.param("masters", [], "masters", "[]", id="no_masters"),
    pytest.param("ha", HA(), "ha", "HA(", id="ha_has_neither_vip_nor_endpoint"),
    pytest.param("ha", HA(vip="vip.example.com"), "ha.vip", "vip.example.com", id="ha_vip_is_not_an_ip"),
    pytest.param("ha", HA(vip="203.0.113.10"), "ha.vip", "203.0.113.10", id="ha_vip_is_a_master_address"),
    pytest.param("ha", HA(vip="192.0.2.100", interface="eth 0"), "ha.interface", "eth 0", id="ha_interface_is_invalid"),
    pytest.param("ha", HA(endpoint="lb.example.com"), "ha.endpoint", "lb.example.com", id="ha_endpoint_has_no_port"),
    pytest.param("api_server_port", 65536, "api_server_port", "65536", id="api_server_port_is_out_of_range"),
    pytest.param("superedge", SuperEdge(version="v0.7.0"), "kubernetes_version", "1.22.6", id="version_pair_mismatches"),
    pytest.param("pod_cidr", "10.244.0.0/33", "pod_cidr", "10.244.0.0/33", id="pod_cidr_is_invalid"),
    pytest.param("pod_cidr", "10.244.0.0/25", "pod_cidr", "10.244.0.0/25", id="pod_cidr_too_small_for_node_subnets"),
    pytest.param("service_cidr", "10.96.0.0", "service_cidr", "10.96.0.0", id="service_cidr_is_invalid"),
    pytest.param("service_cidr", "fd00::/112", "service_cidr", "fd00::/112", id="service_cidr_is_ipv6"),
    pytest.param("service_cidr", "10.0.0.0/11", "service_cidr", "10.0.0.0/11", id="service_cidr_too_large"),
    pytest.param("service_cidr", "10.96.0.0/29", "service_cidr", "10.96.0.0/29", id="service_cidr_too_small"),
    pytest.param("service_cidr", "169.254.0.0/16", "service_cidr", "169.254.0.0/16", id="service_cidr_contains_virtual_address"),
    pytest.param("name", "Shenzhen_Edge", "name", "Shenzhen_Edge", id="name_is_not_dns1123_label"),
    pytest.param("name", "a" * 64, "name", "a" * 64, id="name_is_too_long"),
    pytest.param("container_runtime", "cri-o", "container_runtime", "cri-o", id="container_runtime_unknown"),
    pytest.param("dns_domain", "cluster..local", "dns_domain", "cluster..local", id="dns_domain_invalid"),
    pytest.param("join_token_ttl", "1 day", "join_token_ttl", "1 day", id="join_token_ttl_not_a_duration"),
    pytest.param("join_token_ttl", "24", "join_token_ttl", "24", id="join_token_ttl_has_no_unit"),
    pytest.param("cert_sans", ["203.0.113.10", "not valid"], "cert_sans[1]", "not valid", id="cert_san_invalid"),
    pytest.param("registry", Registry(address="192.0.2.50"), "registry.domain", "192.0.2.50", id="registry_address_without_domain"),
    pytest.param("hooks", Hooks(post_install=["echo", "hi"]), "hooks.post_install", "echo", id="hook_is_not_a_string"),
    pytest.param("superedge", SuperEdge(virtual_address="169.254.169.254"),
                 "superedge.virtual_address", "169.254.169.254",
                 id="virtual_address_is_cloud_metadata"),
    pytest.param("superedge", SuperEdge(virtual_address="lite"), "superedge.virtual_address",
                 "lite", id="virtual_address_is_not_an_ip"),
    pytest.param("install_package", InstallPackage(url="ftp://example.com/p.tgz", sha256=SHA),
                 "install_package.url", "ftp://example.com/p.tgz", id="install_package_url_is_not_http"),
])
def test_fails_naming_the_field_and_the_value(spec, prop, value, field, shown):
    fails(with_(spec, **{prop: value}), field, shown)


def test_fails_when_masters_is_a_single_host(spec, host):
    fails(with_(spec, masters=host()), "masters", "203.0.113.10")


def test_fails_when_masters_count_is_even(spec, host):
    msg = fails(with_(spec, masters=[host("192.0.2.1"), host("192.0.2.2")]), "masters", "2")
    assert "odd" in msg


def test_fails_when_master_address_and_port_repeat(spec, host):
    fails(with_(spec, masters=[host("192.0.2.1"), host("192.0.2.2"), host("192.0.2.1")]),
          "masters[2].address", "192.0.2.1")


def test_fails_when_master_name_repeats(spec, host):
    fails(with_(spec, masters=[host("192.0.2.1", name="m1"), host("192.0.2.2", name="m1"),
                               host("192.0.2.3")]),
          "masters[1].name", "m1")


def test_fails_when_masters_share_address_with_different_ports_and_no_names(spec, host):
    msg = fails(with_(spec, masters=[host("192.0.2.1"), host("192.0.2.1", port=2222),
                                     host("192.0.2.3")]),
                "masters[1].address", "192.0.2.1")
    assert "name" in msg


# --- HA ------------------------------------------------------------------------------------

def test_fails_when_ha_has_both_vip_and_endpoint(spec):
    msg = fails(with_(spec, ha=HA(vip="192.0.2.100", endpoint="lb.example.com:6443")),
                "ha", "192.0.2.100")
    assert "not both" in msg


def test_fails_when_several_masters_without_ha_nor_api_server_address(spec, host):
    msg = fails(with_(spec, api_server_address=None,
                      masters=[host("192.0.2.1"), host("192.0.2.2"), host("192.0.2.3")]),
                "ha", "None")
    assert "api_server_address" in msg and "vip" in msg


def test_fails_when_ha_endpoint_port_is_out_of_range(spec):
    fails(with_(spec, ha=HA(endpoint="lb.example.com:99999")), "ha.endpoint",
          "lb.example.com:99999")


# --- API server ----------------------------------------------------------------------------

def test_fails_when_api_server_address_is_invalid(spec):
    fails(with_(spec, api_server_address="https://edge.example.com"), "api_server_address",
          "https://edge.example.com")


# --- versions ------------------------------------------------------------------------------

def test_fails_when_kubernetes_version_unsupported(spec):
    msg = fails(with_(spec, kubernetes_version="1.24.0"), "kubernetes_version", "1.24.0")
    assert "SuperEdge v0.9.0 with Kubernetes 1.22.6" in msg


def test_fails_when_kubernetes_version_has_v_prefix(spec):
    msg = fails(with_(spec, kubernetes_version="v1.22.6"), "kubernetes_version", "v1.22.6")
    assert "leading 'v'" in msg


def test_fails_when_superedge_version_unsupported(spec):
    msg = fails(with_(spec, superedge=SuperEdge(version="v1.0.0")), "superedge.version",
                "v1.0.0")
    assert "SuperEdge v0.9.0 with Kubernetes 1.22.6" in msg


# --- install package -----------------------------------------------------------------------

def test_fails_when_install_package_has_neither_path_nor_url(spec):
    fails(with_(spec, install_package=InstallPackage(sha256=SHA)), "install_package",
          "InstallPackage(")


def test_fails_when_install_package_has_both_path_and_url(spec, package):
    fails(with_(spec, install_package=InstallPackage(path=package, url="https://x.example/p",
                                                     sha256=SHA)),
          "install_package", "https://x.example/p")


def test_fails_when_install_package_sha256_missing(spec, package):
    fails(with_(spec, install_package=InstallPackage(path=package)),
          "install_package.sha256", "None")


def test_fails_when_install_package_sha256_malformed(spec, package):
    fails(with_(spec, install_package=InstallPackage(path=package, sha256="abc123")),
          "install_package.sha256", "abc123")


def test_fails_when_the_local_package_does_not_have_the_given_sha256(spec, package):
    # given a well-formed checksum that is not the file's
    wrong = "0" * 64
    # then synth stops, naming the file and its real checksum (found here, not on the hosts)
    msg = fails(with_(spec, install_package=InstallPackage(path=package, sha256=wrong)),
                "install_package.sha256", wrong)
    assert msg == (f"install_package.sha256: got {wrong!r}; does not match {package}, whose "
                   f"SHA-256 is {SHA}: a damaged or different download, or a stale sha256")


def test_fails_when_the_private_key_does_not_match_the_public_key_beside_it(spec, host, tmp_path):
    # given a private key whose .pub (what went into the hosts' authorized_keys) is another key's
    mine = tmp_path / "mine"
    mine.write_text(_new_key_text())
    other = tmp_path / "other"
    other.write_text(_new_key_text())
    from cryptography.hazmat.primitives import serialization
    other_pub = serialization.load_ssh_private_key(other.read_bytes(), None).public_key()
    (tmp_path / "mine.pub").write_text(other_pub.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me\n")
    # then synth stops before anything connects
    msg = fails(with_(spec, masters=[host(private_key_file=str(mine))]),
                "masters[0].private_key_file", str(mine))
    assert msg.endswith(f"does not match the public key beside it ({mine}.pub): the hosts' "
                        "authorized_keys hold that one, so this key would be refused; give the "
                        "matching private key or fix mine.pub")


def test_a_private_key_with_its_own_public_key_beside_it_passes(spec, host, tmp_path):
    mine = tmp_path / "mine"
    mine.write_text(_new_key_text())
    from cryptography.hazmat.primitives import serialization
    pub = serialization.load_ssh_private_key(mine.read_bytes(), None).public_key()
    (tmp_path / "mine.pub").write_text(pub.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me\n")
    validate_cluster(with_(spec, masters=[host(private_key_file=str(mine))]), step_names=STEPS)


def test_fails_when_install_package_sha256_uppercase(spec, package):
    fails(with_(spec, install_package=InstallPackage(path=package, sha256="A" * 64)),
          "install_package.sha256", "A" * 64)


def test_fails_when_install_package_path_does_not_exist(spec, tmp_path):
    missing = str(tmp_path / "kube-linux-amd64-v1.22.6.tar.gz.missing")
    fails(with_(spec, install_package=InstallPackage(path=missing, sha256=SHA)),
          "install_package.path", missing)


def test_fails_when_install_package_arch_unsupported(spec, package):
    fails(with_(spec, install_package=InstallPackage(path=package, sha256=SHA, arch="x86_64")),
          "install_package.arch", "x86_64")


# --- SuperEdge -----------------------------------------------------------------------------

def test_fails_when_virtual_address_not_link_local(spec):
    msg = fails(with_(spec, superedge=SuperEdge(virtual_address="10.0.0.11")),
                "superedge.virtual_address", "10.0.0.11")
    assert "169.254.20.11" in msg


def test_an_image_repository_of_its_own_is_accepted(spec):
    validate_cluster(with_(spec, superedge=SuperEdge(image_repository="reg.example.com:5000/se")),
                     step_names=STEPS)


@pytest.mark.parametrize("repo", ["Reg.example.com/se", "reg.example.com/se:v1", "reg/se/",
                                  "reg example", "reg.example.com/se;x"])
def test_fails_when_image_repository_is_not_a_repository(spec, repo):
    msg = fails(with_(spec, superedge=SuperEdge(image_repository=repo)),
                "superedge.image_repository", repo)
    assert "host[:port]/path" in msg


# --- networks ------------------------------------------------------------------------------

def test_fails_when_pod_cidr_has_host_bits(spec):
    msg = fails(with_(spec, pod_cidr="10.244.1.0/16"), "pod_cidr", "10.244.1.0/16")
    assert "10.244.0.0/16" in msg


def test_fails_when_cidrs_overlap(spec):
    msg = fails(with_(spec, pod_cidr="10.0.0.0/8", service_cidr="10.96.0.0/12"),
                "service_cidr", "10.96.0.0/12")
    assert "10.0.0.0/8" in msg


def test_fails_when_pod_cidr_contains_virtual_address(spec):
    msg = fails(with_(spec, pod_cidr="169.254.0.0/16"), "pod_cidr", "169.254.0.0/16")
    assert "169.254.20.11" in msg


def test_fails_when_pod_cidr_contains_a_master(spec, host):
    msg = fails(with_(spec, masters=[host("10.244.3.4")]), "pod_cidr", "10.244.0.0/16")
    assert "masters[0].address 10.244.3.4" in msg


# --- misc props ----------------------------------------------------------------------------

def test_fails_when_skip_steps_has_unknown_name(spec):
    msg = fails(with_(spec, skip_steps=["EnsureSysctl", "EnsureNothing"]), "skip_steps[1]",
                "EnsureNothing")
    assert "EnsureCopyFiles, EnsureSysctl, EnsureDisableSwap, EnsureKubeadmInit" in msg


def test_fails_when_registry_address_not_ip(spec):
    fails(with_(spec, registry=Registry(domain="registry.example.com",
                                        address="registry.internal")),
          "registry.address", "registry.internal")


def test_fails_when_registry_domain_invalid(spec):
    fails(with_(spec, registry=Registry(domain="Registry Example")), "registry.domain",
          "Registry Example")


def test_fails_when_registry_mirror_not_url(spec):
    fails(with_(spec, registry=Registry(domain="registry.example.com",
                                        mirrors=["mirror.example.com"])),
          "registry.mirrors[0]", "mirror.example.com")


def test_fails_when_file_src_missing(spec, tmp_path):
    missing = str(tmp_path / "missing.conf")
    fails(with_(spec, files=[File(missing, "/etc/app.conf")]), "files[0].src", missing)


def test_fails_when_file_dst_relative(spec, package):
    fails(with_(spec, files=[File(package, "etc/app.conf")]), "files[0].dst", "etc/app.conf")


def test_fails_when_file_dst_repeats(spec, package):
    fails(with_(spec, files=[File(package, "/opt/p"), File(package, "/opt/p")]),
          "files[1].dst", "/opt/p")


def test_fails_when_file_mode_invalid(spec, package):
    fails(with_(spec, files=[File(package, "/opt/p", mode="644x")]), "files[0].mode", "644x")


def test_fails_when_ca_cert_without_key(spec, package):
    fails(with_(spec, ca_cert_file=package), "ca_key_file", "None")


def test_fails_when_ca_files_missing(spec, tmp_path):
    missing = str(tmp_path / "ca.crt")
    fails(with_(spec, ca_cert_file=missing, ca_key_file=missing), "ca_cert_file", missing)


def test_fails_when_credentials_dir_is_a_file(spec, package):
    fails(with_(spec, credentials_dir=package), "credentials_dir", package)


# --- the single-value checks -----------------------------------------------------------------

@pytest.mark.parametrize("value", ["a", "edge-1", "0abc", "a" * 63])
def test_dns1123_label_accepts(value):
    validate_dns1123_label(value, "f")


@pytest.mark.parametrize("value", ["", "-a", "a-", "A", "a.b", "a_b", "a" * 64])
def test_fails_when_dns1123_label_bad(value):
    with pytest.raises(ValidationError) as exc:
        validate_dns1123_label(value, "f")
    assert exc.value.field == "f" and repr(value) in str(exc.value)


@pytest.mark.parametrize("value", ["a", "a.b", "edge.example.com", "10.0.0.1"])
def test_dns1123_subdomain_accepts(value):
    validate_dns1123_subdomain(value, "f")


@pytest.mark.parametrize("value", ["", ".a", "a.", "a..b", "A.b", "a_b.c", "a" * 64 + ".b",
                                   ".".join(["abcdefgh"] * 29)])
def test_fails_when_dns1123_subdomain_bad(value):
    with pytest.raises(ValidationError) as exc:
        validate_dns1123_subdomain(value, "f")
    assert exc.value.field == "f"


@pytest.mark.parametrize("labels", [{}, {"a": "b"}, {"example.com/a-b_c.d": ""},
                                    {"superedge.io/node-edge": "enable"}, {"A": "B.c_d-E"}])
def test_labels_accepts(labels):
    validate_labels(labels, "labels")


@pytest.mark.parametrize("labels,field", [
    ({"": "x"}, "labels"), ({"/a": "x"}, "labels"), ({"Example.com/a": "x"}, "labels"),
    ({"a/b/c": "x"}, "labels"), ({"a" * 64: "x"}, "labels"), ({"-a": "x"}, "labels"),
    ({"a": "b" * 64}, "labels['a']"), ({"a": "x y"}, "labels['a']"), ({"a": 1}, "labels['a']"),
])
def test_fails_when_labels_bad(labels, field):
    with pytest.raises(ValidationError) as exc:
        validate_labels(labels, "labels")
    assert exc.value.field == field


@pytest.mark.parametrize("taints", [[], ["a:NoSchedule"], ["dedicated=edge:NoExecute"],
                                    ["example.com/k=:PreferNoSchedule"]])
def test_taints_accepts(taints):
    validate_taints(taints, "taints")


@pytest.mark.parametrize("taint", ["a", "a:Never", ":NoSchedule", "a=b", "a=b c:NoSchedule",
                                   "bad key=v:NoSchedule", "a=b:noschedule"])
def test_fails_when_taint_bad(taint):
    with pytest.raises(ValidationError) as exc:
        validate_taints(["ok:NoSchedule", taint], "taints")
    assert exc.value.field == "taints[1]" and taint in str(exc.value)


def test_fails_when_taints_is_a_string():
    with pytest.raises(ValidationError) as exc:
        validate_taints("a:NoSchedule", "taints")
    assert exc.value.field == "taints"


@pytest.mark.parametrize("value", ["0", "24h", "1h30m", "90s", "1.5h", "300ms", "2h45m10s"])
def test_duration_accepts(value):
    validate_duration(value, "ttl")


@pytest.mark.parametrize("value", ["", "24", "-1h", "1d", "h", "1h 30m", "forever", 24])
def test_fails_when_duration_bad(value):
    with pytest.raises(ValidationError) as exc:
        validate_duration(value, "ttl")
    assert exc.value.field == "ttl"


# --- gaps found probing as an attacker and a careless user (issue 8) --------------------------

@pytest.mark.parametrize("address", ["0.0.0.0", "127.0.0.1", "::1", "::", "224.0.0.1", "ff02::1"])
def test_fails_when_a_master_address_is_not_unicast(spec, host, address):
    fails(with_(spec, masters=[host(address, name="m0")]), "masters[0].address", address)


def test_an_ipv6_master_endpoint_is_bracketed(spec, host):
    s = with_(spec, masters=[host("2001:db8::10", name="m0")], api_server_address=None)
    validate_cluster(s, step_names=STEPS)
    assert s.endpoint == "[2001:db8::10]:6443"


@pytest.mark.parametrize("port", [2379, 2380, 10250, 10257, 10259])
def test_fails_when_the_api_server_port_is_a_control_plane_components(spec, port):
    msg = fails(with_(spec, api_server_port=port), "api_server_port", port)
    assert "choose another" in msg


@pytest.mark.parametrize("user", ["$(id)", "`id`", "ro;ot", "a b", "-oProxyCommand=x", "x" * 33])
def test_fails_when_a_login_name_could_hold_shell_syntax(spec, host, user):
    fails(with_(spec, masters=[host(user=user)]), "masters[0].user", user)


def test_fails_when_two_hosts_would_name_the_same_resources(spec, host):
    masters = [host("203.0.113.10", name="cam.1"), host("203.0.113.11", name="cam-1"),
               host("203.0.113.12", name="cam-2")]
    msg = fails(with_(spec, masters=masters, api_server_address="edge.example.com"),
                "masters[1].name", "cam-1")
    assert "masters[0]" in msg


@pytest.mark.parametrize("dst,why", [
    ("/etc/app/../kubernetes/pki/ca.key", "'..'"),
    ("/etc/kubernetes/pki/ca.key", "/etc/kubernetes"),
    ("/etc/edge_constructs/secrets/bootstrap-token", "/etc/edge_constructs"),
    ("/var/lib/etcd/member", "/var/lib/etcd"),
])
def test_fails_when_a_file_would_land_on_what_the_chain_manages(spec, tmp_path, dst, why):
    src = tmp_path / "f"
    src.write_text("x")
    msg = fails(with_(spec, files=[File(str(src), dst)]), "files[0].dst", dst)
    assert why in msg


def test_fails_when_skip_steps_names_the_ca_guard(spec):
    msg = fails(with_(spec, skip_steps=["EnsureCertificates"]), "skip_steps[0]",
                "EnsureCertificates")
    assert "CA guard" in msg


# --- one duration parser (issue 19) ----------------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from provisioners.core import duration  # noqa: E402
from provisioners.steps.cluster import go_duration  # noqa: E402


@pytest.mark.parametrize("value, allowed", [
    ("5μs", "10m"), ("5µs", "10m"), ("5us", "10m"), ("0.0000000001s", "write '0'"),
    ("0.5ns", "write '0'"), ("9m59s", "10m"), ("-1h", "negative"), ("1d", "unknown unit"),
    ("1h 30m", "Go duration"), ("", "Go duration"), (".s", "Go duration"),
    ("9999999999h", "Go duration")])
def test_join_token_ttl_that_would_render_as_never_or_too_short_is_refused(spec, value, allowed):
    with pytest.raises(ValidationError) as exc:
        validate_cluster(with_(spec, join_token_ttl=value), step_names=STEPS)
    e = exc.value
    assert (e.field, e.value) == ("join_token_ttl", value) and allowed in e.allowed, str(e)


@pytest.mark.parametrize("value, rendered", [
    ("0", "0s"), ("0s", "0s"), ("0h0m", "0s"), ("10m", "10m0s"), ("24h", "24h0m0s"),
    ("1.5h", "1h30m0s"), (".5h", "30m0s"), ("90m", "1h30m0s"), ("+1h", "1h0m0s"),
    ("1h0.5s", "1h0m0.5s"), ("2562047h47m16.854775807s", "2562047h47m16.854775807s")])
def test_an_accepted_ttl_renders_to_the_same_duration(spec, value, rendered):
    validate_cluster(with_(spec, join_token_ttl=value), step_names=STEPS)
    assert go_duration(value) == rendered
    assert duration.parse(rendered) == duration.parse(value)


@pytest.mark.parametrize("ns, text", [
    (1, "1ns"), (1500, "1.5µs"), (1_000_000, "1ms"), (1_500_000_000, "1.5s"),
    (60_000_000_000, "1m0s"), (-90_000_000_000, "-1m30s"), (3_600_000_000_001, "1h0m0.000000001s")])
def test_render_is_go_durations_string(ns, text):
    assert duration.render(ns) == text


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.integers(min_value=-duration.MAX_NS, max_value=duration.MAX_NS))
def test_every_duration_round_trips_through_render_and_parse(ns):
    assert duration.parse(duration.render(ns)) == ns


_unit = st.sampled_from(sorted(duration.UNITS))
_term = st.tuples(st.integers(0, 10_000), st.one_of(st.none(), st.integers(0, 999_999)), _unit)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(_term, min_size=1, max_size=4))
def test_validation_and_rendering_agree_on_any_spelling(terms):
    text = "".join(f"{n}{'' if f is None else '.' + str(f)}{u}" for n, f, u in terms)
    ns = duration.parse(text)
    try:
        got = validate_duration(text, "ttl", "10m")
    except ValidationError as e:
        assert ns < duration.parse("10m"), (text, e)
        return
    assert got == ns and duration.parse(go_duration(text)) == ns
    assert ns == 0 or ns >= duration.parse("10m")


# --- paths normalized before the protected-path check (issue 19) -------------------------------

from provisioners.core.paths import PROTECTED_PATHS, normalize_host_path, protected_root  # noqa: E402


@pytest.mark.parametrize("dst", ["//etc/kubernetes/pki/ca.key", "/etc/./kubernetes/pki/ca.key",
                                 "/etc//kubernetes/pki/ca.key", "///var/lib/etcd/member",
                                 "/etc/kubernetes/.", "/var/lib/kubelet/./config.yaml"])
def test_a_protected_path_spelled_another_way_is_refused(spec, tmp_path, dst):
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(ValidationError) as exc:
        validate_cluster(with_(spec, files=[File(str(src), dst)]), step_names=STEPS)
    assert (exc.value.field, exc.value.value) == ("files[0].dst", dst)
    assert "which the chain manages" in exc.value.allowed


def test_two_spellings_of_one_destination_are_one_destination(spec, tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(ValidationError) as exc:
        validate_cluster(with_(spec, files=[File(str(src), "/opt/a/b"),
                                            File(str(src), "//opt/./a//b")]), step_names=STEPS)
    assert exc.value.field == "files[1].dst" and "files[0] already" in exc.value.allowed


@pytest.mark.parametrize("path", ["etc/kubernetes", "", "./etc", "~/x"])
def test_a_relative_host_path_is_refused(path):
    with pytest.raises(ValueError):
        normalize_host_path(path)


_segment = st.sampled_from(["", ".", "x", "y", "..", "pki", "kubernetes"])


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(st.sampled_from(PROTECTED_PATHS), st.lists(st.sampled_from(["", ".", "x/..", "./."]),
                                                 max_size=4),
       st.integers(1, 3), st.lists(st.sampled_from(["a", "ca.key", "pki"]), max_size=3))
def test_every_spelling_of_a_protected_path_is_found(root, noise, slashes, tail):
    """Equivalent spellings: extra leading slashes, '//', '/./', 'x/..' between the parts of
    a protected directory and after it."""
    parts = root.strip("/").split("/")
    spelled = "/" * slashes
    for i, p in enumerate(parts):
        spelled += p + "/" + ("/".join(noise) + "/" if noise and i % 2 == 0 else "")
    spelled += "/".join(tail)
    assert protected_root(spelled) == root, spelled


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(_segment, max_size=8), st.integers(1, 3))
def test_normalizing_is_idempotent_and_absolute(parts, slashes):
    path = "/" * slashes + "/".join(parts)
    norm = normalize_host_path(path)
    assert norm.startswith("/") and not norm.startswith("//")
    assert normalize_host_path(norm) == norm
    assert "/./" not in norm + "/" and "//" not in norm and "/../" not in norm + "/"
