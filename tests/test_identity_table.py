"""The identity table is the one list of the identity's attributes: the steps' `Identity`,
the provider schema, the constructs' upload sources, the import and where steps put each
value on hosts all agree with it."""
from __future__ import annotations

from provisioners.core import identity_table as table
from provisioners.core.paths import PKI_DIR
from provisioners.core.props import ClusterSpec, Host, InstallPackage
from provisioners.steps import chains
from provisioners.steps.cluster import STAGED_PKI
from provisioners.steps.context import EDGE, MASTER, MASTER0, Context, Identity
from provisioners.steps.step import parse_identity_source
from simsite.synth import HOST_KEY
from edge_constructs.credentials import identity as ident
from edge_constructs.terraform.identity_values import IdentityValues
from edge_constructs.terraform.provider.identity_resource import ClusterIdentity


def test_the_protocol_and_the_constructs_name_each_uploaded_attribute_once():
    uploaded = [a.creds_name for a in table.ATTRS if a.uploaded]
    assert list(Identity.__annotations__) == uploaded
    values = IdentityValues("edge_identity")
    for a in table.ATTRS:
        if a.uploaded:
            assert parse_identity_source(getattr(values, a.creds_name)) == ("edge_identity", a.name)
    assert set(table.UPLOADED) < set(table.VALUES) and table.SECRET < set(table.VALUES)


def test_the_provider_schema_is_the_table():
    attrs = {a.name: a for a in ClusterIdentity.get_schema().attributes}
    for a in table.ATTRS:
        assert attrs[a.name].computed and attrs[a.name].sensitive == a.secret, a.name
        assert attrs[a.name].description == a.doc
    assert "tunnel_token" not in attrs


def test_the_import_reads_the_tables_files_and_makes_every_value(tmp_path):
    from tests.credentials_dir import write_credentials_dir
    made = write_credentials_dir(tmp_path / "c", endpoint="198.18.0.10:6443", cluster_name="t")
    assert set(ident.load_directory(str(made.directory))) == set(table.VALUES)
    assert set(ident.digests(made.values)) == set(table.UPLOADED)


def test_steps_put_each_identity_value_where_the_table_says():
    h = lambda a, n: Host(a, name=n, private_key_file="/k", host_key=HOST_KEY)  # noqa: E731
    spec = ClusterSpec(name="t", masters=(h("198.18.0.10", "m0"), h("198.18.0.11", "m1")),
                       install_package=InstallPackage(url="https://198.18.0.1/p.tgz",
                                                      sha256="b" * 64))
    creds = IdentityValues("edge_identity")
    seen = set()
    for host, role, chain in ((spec.masters[0], MASTER0, chains.MASTER_CHAIN),
                              (spec.masters[1], MASTER, chains.MASTER_CHAIN),
                              (h("198.18.0.20", "e"), EDGE, chains.NODE_CHAIN)):
        for p in chains.render(chain, Context(spec, host, role, creds)):
            for up in p.step.uploads:
                ref = parse_identity_source(up.source)
                if not ref:
                    continue
                a = table.BY_NAME[ref[1]]
                staged = STAGED_PKI + a.host_path[len(PKI_DIR):]
                assert up.destination in (a.host_path, staged), (p.step.name, up)
                assert up.mode == a.mode, (p.step.name, up)
                seen.add(a.name)
    assert seen == set(table.UPLOADED)
