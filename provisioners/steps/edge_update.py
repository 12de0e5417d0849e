"""SuperEdge's components updated in place when `superedge.version` changes (issue 17).

The edge-apps phases create SuperEdge's workloads once (first deploy); a later version
changes only the image tags of their containers. `EnsureEdgeComponentsVersion` (master 0,
after the edge apps exist) sets, workload by workload in a fixed order, the image of each
container that runs a SuperEdge image to `<repository>/<image>:<version>`
(edgeadm v0.9.0 pkg/edgeadm/common/common.go GetSuperEdgeImage; edge-coredns'
GetEdgeDnsImage: `coredns:1.6.9` whatever the version) when it differs, and waits for that
rollout (`kubectl rollout status --timeout`) before the next one. A rollout that does not
finish stops the step naming the workload and its pods' state; the workloads after it are
left as they were. On a first deploy every image is already the wanted one: nothing is set.
Once every rollout finished, the images in the first deploy's manifests on master 0 follow
(a later run of an edge-apps phase, create-or-update in edgeadm, must not bring them back).

The version and the repository are `settled` values of EnsureEdgeAppsManifests (the step
that writes them into the manifests for the first deploy): its fingerprint masks them, so a
version change re-runs this step alone, and its replace trigger shows workload -> image, so
the plan names what changes.
"""
from __future__ import annotations

from provisioners.core.paths import ADMIN_CONF
from provisioners.steps.context import Context
from provisioners.steps.step import On, sh_script, step

#: Where edgeadm puts SuperEdge's components (pkg/edgeadm/constant/const.go NamespaceEdgeSystem).
NAMESPACE = "edge-system"
#: edgeadm's default image repository (pkg/edgeadm/constant/const.go ImageRepository).
DEFAULT_REPOSITORY = "superedge.tencentcloudcr.com/superedge"
#: edge-coredns' image tag (pkg/edgeadm/constant/const.go CoreDNSVersion): not the version.
COREDNS_TAG = "1.6.9"
#: How long one workload's rollout may take (`kubectl rollout status --timeout`, seconds).
ROLLOUT_TIMEOUT = 300

#: SuperEdge's workloads in the order they are updated: (kind, name, image name, tag or None
#: for the SuperEdge version). Kinds and names from edgeadm v0.9.0
#: pkg/edgeadm/constant/manifests/*.go; the containers updated are those running the image
#: (their names there: tunnel-cloud, tunnel-edge, edge-health, edge-health-admission,
#: application-grid-controller, application-grid-wrapper, site-manager, coredns).
WORKLOADS = (
    ("deployment", "tunnel-cloud", "tunnel", None),
    ("daemonset", "tunnel-edge", "tunnel", None),
    ("daemonset", "edge-health", "edge-health", None),
    ("deployment", "edge-health-admission", "edge-health-admission", None),
    ("deployment", "application-grid-controller", "application-grid-controller", None),
    ("daemonset", "application-grid-wrapper-node", "application-grid-wrapper", None),
    ("deployment", "site-manager", "site-manager", None),
    ("daemonset", "edge-coredns", "coredns", COREDNS_TAG),
)


def repository(ctx: Context) -> str:
    return ctx.spec.superedge.image_repository or DEFAULT_REPOSITORY


def wanted_images(ctx: Context) -> dict[str, str]:
    """`<kind>/<name>` -> the image its SuperEdge container must run, in update order."""
    repo, version = repository(ctx), ctx.spec.superedge.version
    return {f"{kind}/{name}": f"{repo}/{image}:{tag or version}"
            for kind, name, image, tag in WORKLOADS}


def settled_values(ctx: Context) -> tuple[str, ...]:
    """What this step brings to a running cluster, so other steps' fingerprints mask it."""
    return (repository(ctx), ctx.spec.superedge.version)


@step("EnsureEdgeComponentsVersion", on=On.MASTER0)
def ensure_edge_components_version(ctx: Context):
    """Master 0: each SuperEdge workload runs the images of `superedge.version` (and the image
    repository), updated one at a time, each rollout finished before the next; stops at a
    rollout that does not finish, naming the workload and its pods' state."""
    from provisioners.steps.cluster import EDGE_MANIFESTS_DIR   # cluster imports this module
    images = wanted_images(ctx)
    lines = [f"{key.replace('/', ' ')} {image.rsplit('/', 1)[-1].rsplit(':', 1)[0]} {image}"
             for key, image in images.items()]
    return {"script": sh_script("EnsureEdgeComponentsVersion", ADMIN_CONF=ADMIN_CONF,
                                NAMESPACE=NAMESPACE, WORKLOADS=lines, TIMEOUT=ROLLOUT_TIMEOUT,
                                MANIFESTS_DIR=EDGE_MANIFESTS_DIR),
            "shown": {"images": images}}
