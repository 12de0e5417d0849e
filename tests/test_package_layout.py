"""The simulated install package has the real one's shape (simsite/real_package.json), and the
chain's package steps read only paths the real package has."""
import io
import json
import tarfile
from pathlib import Path

import pytest

from provisioners.steps.host import CNI_TGZ, RUNTIME_TGZ
from simsite.package import build_package

MANIFEST = json.loads((Path(__file__).parent.parent / "simsite" / "real_package.json").read_text())


def norm(name: str) -> str:
    return name[2:] if name.startswith("./") else name


def files(tar: tarfile.TarFile) -> set[str]:
    return {norm(m.name) for m in tar.getmembers() if m.isfile()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path, _ = build_package(tmp_path_factory.mktemp("pkg"))
    return tarfile.open(path)


def test_the_manifest_names_a_source_for_every_path():
    entries = MANIFEST["paths"] + MANIFEST["additions_allowed"]
    assert entries and all(e["path"].startswith("edge-install/") and e["source"] for e in entries)
    for name, tb in MANIFEST["tarballs"].items():
        assert tb["source"] and tb["members"] and all(m.startswith(tb["unpacks_to"]) for m in tb["members"])
        assert name in {e["path"] for e in MANIFEST["paths"]}


def test_the_built_package_has_every_path_of_the_real_one_and_adds_only_edgeadm(built):
    real = {e["path"] for e in MANIFEST["paths"]}
    added = {e["path"] for e in MANIFEST["additions_allowed"]}
    got = files(built)
    assert real - got == set(), "paths of the real package missing from the simulated one"
    assert got - real == added, "the simulated package adds paths the real one lacks"
    assert not got & set(MANIFEST["absent"])
    # members begin with './', as `tar zcvf ... ./edge-install` writes them (build_package.sh)
    assert all(m.name.startswith(MANIFEST["member_prefix"]) for m in built.getmembers() if m.isfile())


@pytest.mark.parametrize("tgz", sorted(MANIFEST["tarballs"]))
def test_each_runtime_tarball_unpacks_to_its_directory_with_the_real_members(built, tgz):
    data = built.extractfile(MANIFEST["member_prefix"] + tgz).read()
    inner = tarfile.open(fileobj=io.BytesIO(data))
    assert files(inner) == set(MANIFEST["tarballs"][tgz]["members"])
    install = inner.getmember("./" + MANIFEST["tarballs"][tgz]["unpacks_to"] + "install")
    assert install.mode & 0o111, "the install script is executable"


def test_the_chains_globs_match_exactly_one_path_of_the_real_package():
    real = [e["path"][len("edge-install/"):] for e in MANIFEST["paths"]]
    import fnmatch
    for glob in [CNI_TGZ, *RUNTIME_TGZ.values()]:
        assert len(fnmatch.filter(real, glob)) == 1, glob


def test_the_layout_test_can_fail(tmp_path):
    """A package in the old invented layout differs from the manifest."""
    from simsite.package import _tar_gz
    p = tmp_path / "old.tar.gz"
    p.write_bytes(_tar_gz([("edge-install/conf/kubelet.service", b"x", 0o644),
                           ("edge-install/container/containerd-linux-amd64.tgz", b"x", 0o644)]))
    got = files(tarfile.open(p))
    assert got & set(MANIFEST["absent"]) and {e["path"] for e in MANIFEST["paths"]} - got
