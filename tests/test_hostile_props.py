"""Every string prop of the public API driven with hostile text (hypothesis): command
substitution, backticks, `;`, `&`, quotes, newlines, Terraform's `${` and `%{`, the old
heredoc terminators, non-ASCII, 10,000 characters. Each case is either refused with a
ValidationError naming the field, or carried into scripts that pass `shellcheck` and `sh -n`
(the same functions the constructs use: validation, then the chains and the node bundle).
A site test then runs a spec holding every accepted hostile value on a simulated host and
finds no marker file that a payload would have created."""
from __future__ import annotations

import dataclasses
import hashlib
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioners.core.errors import ValidationError
from provisioners.core.props import HA, File, Hooks, InstallPackage, Registry, SuperEdge
from edge_constructs.validation import validate_edge_nodes
from tests.test_shellcheck import check, rendered, specs

MARKER = "/tmp/edge-pwned"
PAYLOADS = [
    f"$(touch {MARKER})", f"`touch {MARKER}`", f"; touch {MARKER}", f"& touch {MARKER} &",
    f"' ; touch {MARKER} ; '", f'" ; touch {MARKER} ; "', f"\ntouch {MARKER}\n",
    "${HOME}", "%{if true}x%{endif}", "$${x}", "EDGE_CONSTRUCTS_STEP_EOF", "EOF",
    "EDGE_TEARDOWN_EOF", "é ü 中 🙂", "x" * 10000, "\\", "a\tb", "-rf", "*", "~root",
]
#: Shapes a payload rides in: bare, in a file path, in a URL (what path and URL fields accept).
CARRIERS = ["{}", "/opt/app/{}.conf", "https://m.example.com/p?a={}"]
hostile = st.one_of(
    st.sampled_from(PAYLOADS),
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=12), st.sampled_from(PAYLOADS),
              st.text(max_size=12)),
    st.text(min_size=1, max_size=40),
)


def _set(path: str):
    """A function (spec, nodes, options, value) -> (spec, nodes, options) setting one prop."""
    r = dataclasses.replace

    def on_spec(**kw):
        return lambda s, n, o, v: (r(s, **{k: f(s, v) for k, f in kw.items()}), n, o)
    setters = {
        "name": on_spec(name=lambda s, v: v),
        "kubernetes_version": on_spec(kubernetes_version=lambda s, v: v),
        "api_server_address": on_spec(api_server_address=lambda s, v: v),
        "pod_cidr": on_spec(pod_cidr=lambda s, v: v),
        "service_cidr": on_spec(service_cidr=lambda s, v: v),
        "dns_domain": on_spec(dns_domain=lambda s, v: v),
        "cert_sans": on_spec(cert_sans=lambda s, v: (v,)),
        "container_runtime": on_spec(container_runtime=lambda s, v: v),
        "join_token_ttl": on_spec(join_token_ttl=lambda s, v: v),
        "token_rotation": on_spec(token_rotation=lambda s, v: v),
        "skip_steps": on_spec(skip_steps=lambda s, v: (v,)),
        "superedge.version": on_spec(superedge=lambda s, v: r(s.superedge, version=v)),
        "superedge.image_repository": on_spec(superedge=lambda s, v: r(s.superedge, image_repository=v)),
        "superedge.virtual_address": on_spec(superedge=lambda s, v: r(s.superedge, virtual_address=v)),
        "install_package.url": on_spec(install_package=lambda s, v: InstallPackage(url=v, sha256="b" * 64)),
        "install_package.arch": on_spec(install_package=lambda s, v: r(s.install_package, arch=v)),
        "registry.domain": on_spec(registry=lambda s, v: r(s.registry, domain=v)),
        "registry.address": on_spec(registry=lambda s, v: r(s.registry, address=v)),
        "registry.mirrors": on_spec(registry=lambda s, v: r(s.registry, mirrors=(v,))),
        "ha.interface": on_spec(ha=lambda s, v: r(s.ha, interface=v)),
        "ha.vip": on_spec(ha=lambda s, v: HA(vip=v, interface="eth0")),
        "files": on_spec(files=lambda s, v: (r(s.files[0], dst=v),)),
        "files.mode": on_spec(files=lambda s, v: (r(s.files[0], mode=v),)),
        "hooks.pre_install": on_spec(hooks=lambda s, v: r(s.hooks, pre_install=v)),
        "hooks.post_cluster_install": on_spec(hooks=lambda s, v: r(s.hooks, post_cluster_install=v)),
        "files.src": on_spec(files=lambda s, v: (r(s.files[0], src=v),)),
        "install_package.path": on_spec(install_package=lambda s, v: r(s.install_package, path=v)),
        "ha.endpoint": on_spec(ha=lambda s, v: HA(endpoint=v)),
        "ca_cert_file": on_spec(ca_cert_file=lambda s, v: v, ca_key_file=lambda s, v: v),
        "masters[0].host_key": on_spec(masters=lambda s, v: (r(s.masters[0], host_key=v), *s.masters[1:])),
        "masters[0].private_key_file": on_spec(masters=lambda s, v: (
            r(s.masters[0], private_key_file=v), *s.masters[1:])),
        "masters[0].known_hosts_file": on_spec(masters=lambda s, v: (
            r(s.masters[0], host_key=None, known_hosts_file=v), *s.masters[1:])),
        "hosts[0].address": lambda s, n, o, v: (s, [r(n[0], address=v)], o),
        "masters[0].user": on_spec(masters=lambda s, v: (r(s.masters[0], user=v), *s.masters[1:])),
        "masters[0].name": on_spec(masters=lambda s, v: (r(s.masters[0], name=v), *s.masters[1:])),
        "masters[0].address": on_spec(masters=lambda s, v: (r(s.masters[0], address=v), *s.masters[1:])),
        "masters[0].password_env": on_spec(masters=lambda s, v: (
            r(s.masters[0], private_key_file=None, password_env=v), *s.masters[1:])),
        "hosts[0].name": lambda s, n, o, v: (s, [r(n[0], name=v)], o),
        "hosts[0].user": lambda s, n, o, v: (s, [r(n[0], user=v)], o),
        "labels": lambda s, n, o, v: (s, n, r(o, labels={"zone": v})),
        "labels.key": lambda s, n, o, v: (s, n, r(o, labels={v: "a"})),
        "taints": lambda s, n, o, v: (s, n, r(o, taints=(v,))),
        "node_unit": lambda s, n, o, v: (s, n, r(o, node_unit=v)),
    }
    return setters[path]


FIELDS = ["name", "kubernetes_version", "api_server_address", "pod_cidr", "service_cidr",
          "dns_domain", "cert_sans", "container_runtime", "join_token_ttl", "token_rotation",
          "skip_steps", "superedge.version", "superedge.image_repository",
          "superedge.virtual_address", "install_package.url", "install_package.arch",
          "registry.domain", "registry.address", "registry.mirrors", "ha.interface", "ha.vip",
          "files", "files.mode", "hooks.pre_install", "masters[0].user", "masters[0].name",
          "masters[0].address", "masters[0].password_env", "hosts[0].name", "hosts[0].user",
          "labels", "labels.key", "taints", "node_unit", "hooks.post_cluster_install",
          "files.src", "install_package.path", "ha.endpoint", "ca_cert_file",
          "masters[0].host_key", "masters[0].private_key_file", "masters[0].known_hosts_file",
          "hosts[0].address"]

#: Scripts already found clean, by content hash: each case shellchecks only what it changed.
_CHECKED: set[str] = set()
def accepted(base, tmp_path) -> dict[str, list[str]]:
    """Each field of FIELDS with the fixed PAYLOADS that validation lets through (as data):
    what the site test and the Terraform JSON test carry, whichever tests ran before."""
    out: dict[str, list[str]] = {}
    for path in FIELDS:
        for payload in PAYLOADS:
            for carrier in CARRIERS:
                value = carrier.format(payload)
                if value not in out.get(path, []) and _outcome(base, path, value, tmp_path):
                    out.setdefault(path, []).append(value)
    return out


def _field_matches(err: ValidationError, path: str) -> bool:
    """The error names the prop (its path, or an element of it)."""
    want = path.split(".key")[0].replace("[0]", "")
    got = str(err.field).replace("[0]", "")
    return got.startswith(want) or want.startswith(got.split("[")[0]) and got.split("[")[0] != ""


def _outcome(base, path: str, value: str, tmp_path):
    spec, nodes, options = _set(path)(*base, value)
    try:
        validate_edge_nodes(spec, nodes, "hosts", dict(options.labels), options.taints,
                            options.node_unit)
        scripts = rendered(spec, nodes, options)
    except ValidationError as e:
        assert _field_matches(e, path), (path, e.field, str(e)[:300])
        return None
    return scripts


@pytest.mark.parametrize("path", FIELDS)
def test_a_hostile_prop_is_refused_by_name_or_carried_safely(path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    base = specs(tmp)["full"]

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(value=hostile)
    def case(value):
        scripts = _outcome(base, path, value, tmp)
        if scripts is None:
            return
        new = {k: v for k, v in scripts.items()
               if hashlib.sha256(v.encode()).hexdigest() not in _CHECKED}
        if new:
            d = tmp_path_factory.mktemp("sc")
            check(new, d)
            _CHECKED.update(hashlib.sha256(v.encode()).hexdigest() for v in new.values())
    case()


def test_the_fixed_cases_of_the_issue_are_refused_with_their_field(tmp_path):
    base = specs(tmp_path)["full"]
    for path, value in [("masters[0].user", "$(id)"), ("files", "/etc/../etc/shadow"),
                        ("masters[0].address", "0.0.0.0"), ("masters[0].address", "127.0.0.1"),
                        ("skip_steps", "EnsureCertificates"), ("hosts[0].name", "cam.1;x"),
                        # issue 19
                        ("files", "//etc/kubernetes/pki/ca.key"),
                        ("files", "/etc/./kubernetes/admin.conf"), ("join_token_ttl", "5μs"),
                        ("join_token_ttl", "0.1ns"),
                        ("masters[0].host_key", specs(tmp_path)["full"][0].masters[0].host_key[:-8])]:
        assert _outcome(base, path, value, tmp_path) is None, (path, value)


@pytest.mark.site
def test_accepted_hostile_values_run_on_a_host_without_running_their_payload(tmp_path):
    """Validation lets some hostile text through, as data: a file's destination, a registry
    mirror, a package URL, hook text, token_rotation, ... (`accepted`, every field of FIELDS).
    One spec holds, in each field that accepts one, a payload that would create a marker
    file; every master and node step whose script carries one runs on a simulated host; none
    may run the payload (a step may fail, e.g. the URL cannot be fetched: only the marker
    matters). Hook fields hold scripts by design: they run as the user's own code, so they
    hold a harmless hostile text instead."""
    from provisioners.core.errors import StepFailed
    from provisioners.ssh.runner import Connection, RunnerSettings, run_step
    from provisioners.steps import chains
    from provisioners.steps.context import EDGE, MASTER0, Context
    from provisioners.steps.step import full_script
    from simsite.site import Site
    from tests.test_shellcheck import CREDS
    src = tmp_path / "app.conf"
    src.write_text("x\n")
    base = specs(tmp_path)["full"]
    found = accepted(base, tmp_path)
    for must in ("token_rotation", "files", "registry.mirrors", "install_package.url"):
        assert any(MARKER in v for v in found.get(must, [])), (must, found.get(must))
    with Site(n=1) as site:
        h = site.as_host(site.hosts[0])
        spec, nodes, options = dataclasses.replace(base[0], masters=(h,), ha=None), base[1], base[2]
        carried = {}
        for path, values in found.items():
            if path.startswith("hooks."):
                continue
            for value in (v for v in values if MARKER in v):
                try:
                    trial = _set(path)(spec, nodes, options, value)
                    validate_edge_nodes(trial[0], trial[1], "hosts", dict(trial[2].labels),
                                        trial[2].taints, trial[2].node_unit)
                    rendered(*trial)
                except ValidationError:
                    continue          # refused in this combination: not carried
                spec, nodes, options = trial
                carried[path] = value
                break
        assert {"token_rotation", "files", "registry.mirrors",
                "install_package.url"} <= set(carried), carried
        steps = []
        for role, host in ((MASTER0, h), (EDGE, dataclasses.replace(h, name="cam-1"))):
            ctx = Context(spec=spec, host=host, role=role, creds=CREDS)
            chain = chains.MASTER_CHAIN if role == MASTER0 else chains.NODE_CHAIN
            steps += [p.step for p in chains.render(chain, ctx)
                      if MARKER in full_script(p.step, host.key)]
        assert len(steps) >= 3, [s.name for s in steps]
        ran = []
        settings = RunnerSettings(command_timeout=60.0)
        with Connection(h) as conn:
            for step in steps:
                try:
                    run_step(conn, step, settings, log=lambda *_: None)
                    ran.append((step.name, "ok"))
                except (StepFailed, Exception) as e:   # noqa: BLE001 (only the marker matters)
                    ran.append((step.name, f"failed: {str(e)[:80]}"))
        rc, out, _ = site.ssh(site.hosts[0], f"ls {MARKER} 2>&1; true")
        assert "No such file" in out.splitlines()[0], (out, ran, carried)
        # the file landed under its hostile name, whole (its slashes make directories)
        rc, _, _ = site.ssh(site.hosts[0], f"test -f {shlex.quote(spec.files[0].dst)}")
        assert rc == 0 or "files" not in carried, ran
    assert not (tmp_path / "edge-pwned").exists()


# --- values in Terraform's JSON are data, never templates (issue 19) -------------------------

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402

from tests.synth_fixtures import synth_env  # noqa: E402,F401  (fixture)

#: What a value of the user's could do in a template: read a file, run a function, branch.
TF_PAYLOAD = '${file("/etc/hostname")}%{ if true }T%{ endif }'
#: The same in a file or directory name (no '/'): quotes and a backslash besides.
TF_NAME = '${upper("x")}%{ if true }T%{ endif }"q\\'
#: What our own interpolations may be: references, and the functions the constructs use on
#: local paths and identity values.
_REF = r"[A-Za-z_][\w-]*(?:\.[\w-]+|\[\"[\w-]+\"\])*"
_OURS = re.compile(rf"{_REF}|(?:file|filebase64|filesha256)\((?P<arg>\"(?:[^\"\\]|\\.)*\")\)|"
                   rf"(?:base64encode|jsondecode|sha256)\({_REF}\)|try\({_REF}, null\)|"
                   # the <id>_certificates output: references only, keyed by the resources' own `master`
                   rf"{{ masters = {{ for m in \[{_REF}(?:, {_REF})*\] : m\.master => "
                   rf"jsondecode\(m\.certificates\) }}, cluster = jsondecode\({_REF}\.certificates\), "
                   rf"kubelet_rotation = jsondecode\({_REF}\.kubelet_rotation\) }}|"
                   # the cluster provider block's `cas`: the identity's CA attributes
                   rf"jsonencode\({{\w+ = {_REF}(?:, \w+ = {_REF})*}}\)")


def _hcl_unquote(arg: str) -> str:
    out, i, body = [], 0, arg[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\":
            out.append({"n": "\n", "r": "\r", "t": "\t"}.get(body[i + 1], body[i + 1]))
            i += 2
        elif body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1:i + 3])
            i += 3
        else:
            assert not body.startswith(("${", "%{"), i), f"a template inside {arg!r}"
            out.append(c)
            i += 1
    return "".join(out)


def _literal_text(template: str, args: list) -> str:
    """The text of a JSON string as Terraform reads it, each interpolation ours (asserted)
    and shown as <ref>; the paths given to file()/filebase64() collected in `args`."""
    out, i = [], 0
    while i < len(template):
        if template.startswith("$${", i) or template.startswith("%%{", i):
            out.append(template[i + 1:i + 3])
            i += 3
        elif template.startswith("%{", i):
            raise AssertionError(f"a template directive in {template[:200]!r}")
        elif template.startswith("${", i):
            j, quoted, depth = i + 2, False, 0
            while template[j] != "}" or quoted or depth:
                if template[j] == "\\":
                    j += 1
                elif template[j] == '"':
                    quoted = not quoted
                elif not quoted and template[j] == "{":
                    depth += 1
                elif not quoted and template[j] == "}":
                    depth -= 1
                j += 1
            inner = template[i + 2:j]
            m = _OURS.fullmatch(inner)
            assert m, f"an interpolation that is not ours: ${{{inner}}}"
            if m.group("arg"):
                args.append(_hcl_unquote(m.group("arg")))
            out.append("<ref>")
            i = j + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def _strings(doc):
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def _hostile_stack(env):
    """An EdgeCluster and an EdgeNodePool whose every string prop that reaches the JSON
    holds template syntax: token_rotation, the package URL, registry mirrors, a file's
    source and destination, hooks, the SSH key path, the CA files, a package path."""
    from edge_constructs import EdgeNodePool, InstallPackage, Registry
    from edge_constructs.terraform.cdk import TerraformStack
    weird = env.tmp_path / TF_NAME
    weird.mkdir()
    key = weird / "id key"
    shutil.copy(env.key_file, key)
    src = weird / "app.conf"
    src.write_text("x\n")
    ca = weird / "ca.crt"
    ca.write_text("-")
    cakey = weird / "ca.key"
    cakey.write_text("-")
    m = env.host("198.18.0.10", name="m0", private_key_file=str(key))
    cluster = env.cluster(
        masters=[m], token_rotation=TF_PAYLOAD, ca_cert_file=str(ca), ca_key_file=str(cakey),
        install_package=InstallPackage(url=f"https://m.example.com/p.tgz?a={TF_PAYLOAD}",
                                       sha256=env.sha256),
        registry=Registry(mirrors=(f"https://m.example.com/{TF_PAYLOAD}",)),
        files=[File(str(src), f"/opt/{TF_PAYLOAD}.conf", "0600")],
        hooks=Hooks(pre_install=f"echo '{TF_PAYLOAD}'"))
    EdgeNodePool(cluster, "pool", cluster=cluster,
                 hosts=[env.host("198.18.0.20", name="cam-1", private_key_file=str(key))],
                 labels={"zone": "a"})
    return cluster, TerraformStack.of(cluster)


def test_template_syntax_in_any_prop_reaches_terraform_json_as_data(synth_env):
    from edge_constructs.terraform.cdk import Testing
    cluster, stack = _hostile_stack(synth_env)
    doc = json.loads(Testing.synth(stack))
    args: list = []
    texts = [_literal_text(s, args) for s in _strings(doc)]
    # every interpolation is ours (asserted while reading); each value is there as data
    assert sum(TF_PAYLOAD in t for t in texts) >= 5, texts
    identity = next(iter(doc["resource"]["edge_cluster_identity"].values()))
    assert _literal_text(identity["token_rotation"], []) == TF_PAYLOAD
    assert _literal_text(identity["ca_cert_file"], []).endswith(f"{TF_NAME}/ca.crt")
    join = _literal_text(doc["output"]["edge_join_command"]["value"], [])
    assert shlex.quote(f"https://m.example.com/p.tgz?a={TF_PAYLOAD}") in join
    # the scripts (mirrors, file destinations, hooks) carry it as text too, escaped whole
    contents = [_literal_text(p["file"]["content"], [])
                for r in doc["resource"]["terraform_data"].values()
                for p in r.get("provisioner", []) if "content" in p.get("file", {})]
    assert sum(TF_PAYLOAD in t for t in contents) >= 3, len(contents)
    sources = [_literal_text(p["source"], []) for r in doc["resource"]["terraform_data"].values()
               for p in r.get("provisioner", []) if "file" in p and "source" in p["file"]
               for p in [p["file"]]]
    assert any(s.endswith(f"{TF_NAME}/app.conf") for s in sources), sources
    assert any(a.endswith(f"{TF_NAME}/id key") for a in args), args   # file() of the key
    assert any(a.endswith(f"{TF_NAME}/app.conf") for a in args), args  # filebase64() in the bundle


def test_terraform_itself_reads_template_syntax_as_data(synth_env):
    """A real plan: `token_rotation='${file("/etc/hostname")}…'` and a file whose path holds
    template syntax, quotes and a backslash; the plan's `resource_changes` carry the value
    literally, and filebase64() read the file by its real path."""
    from edge_constructs.terraform.binary import terraform_env
    cluster, stack = _hostile_stack(synth_env)
    outdir = synth_env.full_synth(stack)
    d = f"{outdir}/stacks/t"
    env = terraform_env()
    env.update(NO_COLOR="1", TF_IN_AUTOMATION="1")
    tf = env["TERRAFORM_BINARY_NAME"]

    def run(*args):
        r = subprocess.run([tf, *args], cwd=d, env=env, text=True, capture_output=True,
                           timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout
    run("init", "-input=false")
    run("plan", "-input=false", "-out=plan.bin")
    plan = json.loads(run("show", "-json", "plan.bin"))
    changes = {c["address"]: c["change"]["after"] for c in plan["resource_changes"]}
    identity = next(v for k, v in changes.items() if k.startswith("edge_cluster_identity."))
    assert identity["token_rotation"] == TF_PAYLOAD
    assert identity["ca_cert_file"].endswith(f"{TF_NAME}/ca.crt")
    hostname = open("/etc/hostname").read().strip()
    assert hostname not in json.dumps(identity) or hostname in TF_PAYLOAD


@pytest.mark.parametrize("url", [
    "https://m.example.com/p a.tgz?x=1;touch /tmp/edge-pwned",
    "https://m.example.com/$(touch /tmp/edge-pwned)/`id`/p.tgz?a='b'&c=\"d\"",
    "https://m.example.com/p.tgz?a=${HOME}%{x}\\n*"])
def test_the_join_command_output_is_one_shell_word_per_value(synth_env, tmp_path, url):
    """The join command as `terraform output` prints it, pasted into sh: the package URL is
    one argument, unchanged, and nothing in it runs."""
    from edge_constructs import InstallPackage
    from edge_constructs.terraform.cdk import TerraformStack, Testing
    cluster = synth_env.cluster(install_package=InstallPackage(url=url, sha256=synth_env.sha256))
    doc = json.loads(Testing.synth(TerraformStack.of(cluster)))
    cmd = _literal_text(doc["output"]["edge_join_command"]["value"], [])
    assert cmd.startswith("edgeadm join ")
    cmd = cmd.replace("<ref>", "abcdef.0123456789abcdef", 1).replace("<ref>", "sha256:" + "a" * 64)
    run = subprocess.run(["sh", "-c", "edgeadm() { printf '%s\\0' \"$@\"; }\n" + cmd],
                         capture_output=True, cwd=tmp_path, timeout=10)
    assert run.returncode == 0, run.stderr
    args = run.stdout.decode().split("\0")[:-1]
    assert args[args.index("--install-pkg-path") + 1] == url, args
    assert args[:2] == ["join", "203.0.113.10:6443"] and args[-1] == "--enable-edge=true"
    assert not (tmp_path / "edge-pwned").exists() and not os.path.exists(MARKER)
