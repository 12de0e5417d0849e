# The join script's start. In: CLUSTER, PKG_PATH, PKG_NAME, SHA256, NEED_PKG (1: the package
# must already lie at PKG_PATH, the join command's --install-pkg-path), STAGE_DIR, STEP_DIR.
set -eu
[ "$(id -u)" = 0 ] || { echo "edge join script: run me as root" >&2; exit 1; }
EDGE_NODE_NAME=${EDGE_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}
export EDGE_NODE_NAME
echo "edge join script: joining $(hostname) to cluster $CLUSTER as node $EDGE_NODE_NAME"
umask 077
mkdir -p "$STAGE_DIR" "$STEP_DIR"  # 0700: umask 077
if [ "$NEED_PKG" = 1 ] && [ ! -f "$PKG_PATH" ]; then
  echo "edge join script: the install package is missing: copy $PKG_NAME (sha256 $SHA256) to $PKG_PATH on this host (the join command's --install-pkg-path), then run this script again" >&2
  exit 1
fi
