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


def _init_calls():
    """(words, flags) of every `edgeadm init phase` call the chain makes on master 0."""
    from provisioners.core.props import HA
    from tests.shvars import sh_value
    out = []
    for c in (ctx(), ctx(ha=HA(vip="198.18.0.250", interface="eth0"))):
        for fn in cluster_steps.EDGEADM_INIT_PHASES:
            s = fn(c)
            if s is None or "init_phase" not in s.script and "ARGS=" not in s.script:
                continue
            args = sh_value(s.script, "init_phase", "ARGS").split("\n")
            assert args[:2] == ["init", "phase"], args
            n = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
            out.append((args[2:n], [a.split("=")[0] for a in args[n:] if a.startswith("--")]))
    return out


def test_every_init_phase_call_is_a_bound_runnable_command_with_flags_it_inherits():
    from simsite.standins import edgeadm
    idx = edgeadm.phase_index(edgeadm.INIT_PHASES)
    calls = _init_calls()
    assert calls
    for words, flags in calls:
        key = tuple(words)
        assert key in idx and key not in edgeadm.INIT_HIDDEN, words
        inherited, subs = idx[key]
        assert not subs, f"{words} has sub-phases: edgeadm answers with help"
        for f in flags:
            assert f[2:] in (inherited or []) or f[2:] in edgeadm.GLOBAL, (words, f)
    assert ["edge-apps", "all"] not in [w for w, _ in calls]
    assert ["cni", "flannel"] in [w for w, _ in calls]


def test_a_help_answer_of_edgeadm_is_never_taken_for_a_phase_run(tmp_path):
    import subprocess
    from provisioners.steps.step import full_script
    step = [s for s in (fn(ctx()) for fn in cluster_steps.EDGEADM_INIT_PHASES)
            if s and s.name == "EnsureKubeadmInitPhaseCNIFlannel"][0]
    script = full_script(step, host="m0").replace(step.result_path, str(tmp_path / "result"))
    fake = 'edgeadm() { printf "Usage:\\n  edgeadm init phase cni [flags]\\n"; }\n'
    body_at = script.index(step.script.strip("\n"))
    p = subprocess.run(["sh", "-c", script[:body_at] + fake + script[body_at:]], capture_output=True, text=True)
    assert p.returncode != 0
    assert "answered 'edgeadm init phase cni flannel' with its help" in p.stdout + p.stderr


def test_edge_apps_manifests_get_the_clusters_version_repository_and_addresses(tmp_path):
    import subprocess
    from provisioners.core.props import SuperEdge
    from provisioners.steps.step import full_script
    c = ctx(superedge=SuperEdge(version="v0.9.0", image_repository="reg.example.com/se", virtual_address="169.254.20.12"))
    step = cluster_steps.ensure_edge_apps_manifests(c)
    script = full_script(step, host="m0").replace(step.result_path, str(tmp_path / "result"))
    # what `edgeadm manifests` writes: templates with edgeadm's keys
    fake = ('edgeadm() { d=$3; mkdir -p "$d"; for f in $FILES; do printf "%s\\n" '
            '"image: {{.TunnelImage}}" "dns: {{.CoreDnsImage}} {{.EdgeVirtualAddr}}" '
            '"server_name = \\"{{.MasterIP}}:{{.TunnelPersistentConnectionPort}}\\"" "token = {{.TunnelCloudEdgeToken}}" > "$d/$f"; done; }\n')
    body_at = script.index(step.script.strip("\n"))
    script = (script[:body_at] + fake + script[body_at:]).replace(cluster_steps.EDGE_MANIFESTS_DIR, str(tmp_path / "m"))
    script = script.replace(cluster_steps.TUNNEL_TOKEN_FILE, str(tmp_path / "tok"))
    p = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    text = (tmp_path / "m" / "tunnel-edge.yaml").read_text()
    token = (tmp_path / "tok").read_text()
    assert len(token) == 32
    assert text == ("image: reg.example.com/se/tunnel:v0.9.0\ndns: reg.example.com/se/coredns:1.6.9 169.254.20.12\n"
                    'server_name = "198.18.0.10:{{.TunnelPersistentConnectionPort}}"\ntoken = %s\n' % token)


def test_a_superedge_version_that_is_no_image_tag_is_refused():
    import pytest
    from provisioners.core.props import SuperEdge
    with pytest.raises(ValueError, match="superedge.version"):
        cluster_steps.ensure_edge_apps_manifests(ctx(superedge=SuperEdge(version="v1\n  evil: x")))


def _run_body(step, tmp_path, fakes: str, replace=()):
    import subprocess
    from provisioners.steps.step import full_script
    script = full_script(step, host="m0").replace(step.result_path, str(tmp_path / "result"))
    body_at = script.index(step.script.strip("\n"))
    script = script[:body_at] + fakes + script[body_at:]
    for old, new in replace:
        script = script.replace(old, new)
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60)


def test_the_control_plane_wait_is_bounded_and_shows_the_kubelets_journal(tmp_path):
    step = cluster_steps.ensure_control_plane_ready(ctx())
    fakes = ('curl() { return 7; }\nsleep() { :; }\nsystemctl() { echo inactive; return 3; }\n'
             'journalctl() { echo "kubelet: failed to run Kubelet: no CNI"; }\n')
    p = _run_body(step, tmp_path, fakes)
    assert p.returncode == 1
    out = p.stdout + p.stderr
    assert "did not answer /readyz within 240 s" in out and "failed to run Kubelet: no CNI" in out


def test_the_kube_apiserver_patch_sets_dns_policy_once(tmp_path):
    manifest = tmp_path / "kube-apiserver.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\nspec:\n  hostNetwork: true\n")
    step = cluster_steps.ensure_kube_apiserver_patch(ctx())
    for _ in range(2):
        p = _run_body(step, tmp_path, "", [("/etc/kubernetes/manifests/kube-apiserver.yaml", str(manifest))])
        assert p.returncode == 0, p.stdout + p.stderr
    import yaml
    assert yaml.safe_load(manifest.read_text())["spec"] == {"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}


def test_update_configs_work_follows_join_prepare_with_our_values():
    """EnsureEdgeKubeConfig: master 0 only, after EnsurePrepareEdgeCluster (edgeadm runs
    update-config after join-prepare, pkg/edgeadm/steps/edge_app.go); the patches carry
    edgeadm's constants and the cluster's values (pkg/edgeadm/common/update_config.go)."""
    import json
    from tests.shvars import sh_value
    names = [fn.step_name for fn in chain.MASTER_CHAIN]
    assert names.index("EnsurePrepareEdgeCluster") < names.index("EnsureEdgeKubeConfig") < names.index("EnsureJoinPreparation")
    assert cluster_steps.ensure_edge_kube_config(ctx(role=MASTER)) is None
    from provisioners.core.props import SuperEdge
    step = cluster_steps.ensure_edge_kube_config(ctx(kubernetes_version="1.22.6", superedge=SuperEdge(virtual_address="169.254.20.12")))
    v = {n: sh_value(step.script, "EnsureEdgeKubeConfig", n)
         for n in ("DS_PATCH", "ANNOTATIONS", "KUBE_PROXY_PATCH", "SA_PATCH")}
    pod = json.loads(v["DS_PATCH"])["spec"]["template"]["spec"]
    assert pod["containers"] == [{"name": "kube-proxy", "image": "superedge.tencentcloudcr.com/superedge/kube-proxy:v1.22.6"}]
    assert pod["volumes"] == [{"name": "kube-proxy", "configMap": {"name": "edge-kube-proxy"}}]
    assert pod["priorityClassName"] is None
    assert json.loads(v["DS_PATCH"])["metadata"]["namespace"] == "edge-system"
    assert json.loads(v["ANNOTATIONS"]) == [{"op": "add", "path": "/metadata/annotations", "value": {
        "superedge.io/local-port": "51003", "superedge.io/local-endpoint": "169.254.20.12"}}]
    assert "DoesNotExist" in v["KUBE_PROXY_PATCH"]
    assert json.loads(v["SA_PATCH"])["secrets"] is None
