# The node bundle's start. In: CLUSTER, STATE_DIR, STAGE_DIR, STEP_DIR, LEDGER, FAILED_STEP,
# JOIN_STEP, PKG_PATH, PKG_NAME, SHA256, NEED_PKG (1: the package must lie at PKG_PATH, or at
# PKG_PATH.upload where the edge_node resource copies it). The node's name: $EDGE_NODE_NAME,
# else the lower-cased hostname.
set -eu
[ "$(id -u)" = 0 ] || { echo "edge node bundle: run me as root" >&2; exit 1; }
EDGE_NODE_NAME=${EDGE_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}
export EDGE_NODE_NAME
echo "[$EDGE_NODE_NAME] node bundle: preparing $(hostname) to join cluster $CLUSTER as $EDGE_NODE_NAME"
umask 077
mkdir -p "$STATE_DIR" "$STAGE_DIR" "$STEP_DIR"  # 0700: umask 077
rm -f "$FAILED_STEP"
# A ledger that says the host joined, on a host without kubelet.conf: the host left the
# cluster since (reset by hand). What the ledger remembers no longer holds.
if [ -f "$LEDGER" ] && grep -q "^$JOIN_STEP " "$LEDGER" && [ ! -f /etc/kubernetes/kubelet.conf ]; then
  rm -f "$LEDGER"
  echo "[$EDGE_NODE_NAME] ledger: the host left the cluster since its last join: every step runs again"
fi
touch "$LEDGER"
if [ "$NEED_PKG" = 1 ] && [ ! -f "$PKG_PATH" ] && [ ! -f "$PKG_PATH.upload" ]; then
  echo "edge node bundle: the install package is missing: copy $PKG_NAME (sha256 $SHA256) to $PKG_PATH on this host (the join command's --install-pkg-path), then run this script again" >&2
  exit 1
fi
# done_before "STEP FINGERPRINT": the ledger holds it (the step finished in an earlier run).
done_before() { grep -qx "$1" "$LEDGER"; }
# run_step NAME SCRIPT: run a step's script; a failure names the step and stops the bundle.
run_step() { sh "$2" || { rc=$?; echo "$1" > "$FAILED_STEP"; exit "$rc"; }; }
# skip_step NAME: say the ledger holds it.
skip_step() { echo "[$EDGE_NODE_NAME] $1: done in an earlier run (ledger)"; }
