"""Step scripts rendered from small data: what each says it will do."""
from __future__ import annotations

from provisioners.core.props import ClusterSpec, Host, InstallPackage, Registry
from provisioners.steps import chains as chain, cluster as cluster_steps
from provisioners.steps.context import MASTER, MASTER0, Context

HOST = Host("198.18.0.10", private_key_file="/k", name="m0")


def ctx(role=MASTER0, **kw) -> Context:
    spec = ClusterSpec(name="t", masters=(HOST,),
                       install_package=InstallPackage(path="/p.tgz", sha256="a" * 64), **kw)
    return Context(spec=spec, host=HOST, role=role, creds=None)


def test_containerd_gets_registry_mirrors_and_the_insecure_domain():
    reg = Registry(domain="reg.example.com", insecure=True, mirrors=("https://mirror.example.com",))
    script = cluster_steps.ensure_container_runtime(ctx(registry=reg)).script
    assert 'registry.mirrors."docker.io"]' in script
    assert '"https://mirror.example.com"' in script
    assert 'registry.configs."reg.example.com".tls]' in script


def test_docker_gets_daemon_json_with_mirrors():
    reg = Registry(mirrors=("https://mirror.example.com",))
    script = cluster_steps.ensure_container_runtime(
        ctx(registry=reg, container_runtime="docker")).script
    assert '"registry-mirrors"' in script and "/etc/docker/daemon.json" in script


def test_init_phases_run_on_master_0_only():
    names0 = [fn(ctx()) for fn in cluster_steps.EDGEADM_INIT_PHASES]
    names1 = [fn(ctx(role=MASTER)) for fn in cluster_steps.EDGEADM_INIT_PHASES]
    assert all(s is None for s in names1)
    assert [s.name for s in names0 if s][0] == "EnsureKubeadmInitPhasePreflight"


def test_every_step_name_is_unique_and_known_to_skip_steps():
    names = [getattr(fn, "step_name") for fn in chain.MASTER_CHAIN]
    assert len(names) == len(set(names))
    assert set(names) <= set(chain.step_names())


def test_values_reach_scripts_only_as_quoted_assignments_that_sh_reads_back_whole():
    import subprocess
    from provisioners.steps.step import assignments, sh_quote
    hostile = ["$(touch /tmp/x)", "`id`", "a;b&c|d", "'\"", "${HOME}", "line1\nEOF\nline3", "é"]
    text = assignments({"ONE": hostile[0], "LIST": hostile})
    out = subprocess.run(["sh", "-c", text + '\nprintf "%s|" "$ONE"; printf "%s" "$LIST"'],
                         capture_output=True, text=True, check=True).stdout
    assert out == hostile[0] + "|" + "\n".join(hostile)
    # shell-looking data is marked as literal for shellcheck; a NUL cannot be carried at all
    assert "# shellcheck disable=SC2016" in text
    import pytest
    with pytest.raises(ValueError):
        sh_quote("a\0b")
    with pytest.raises(ValueError):
        assignments({"lower": "x"})
