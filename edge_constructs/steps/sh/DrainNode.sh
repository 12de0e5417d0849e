# In: ADMIN_CONF, NODE_NAME, DRAIN_TIMEOUT.
N=$NODE_NAME
if kubectl --kubeconfig "$ADMIN_CONF" get node "$N" -o name >/dev/null 2>&1; then
  if timeout 180 kubectl --kubeconfig "$ADMIN_CONF" drain "$N" --ignore-daemonsets --delete-emptydir-data --force --timeout="$DRAIN_TIMEOUT"; then
    say "node $N drained"
  else say "node $N did not drain within $DRAIN_TIMEOUT: it stays cordoned, removal goes on"; fi
else say "node $N is not in the cluster: nothing to drain"; fi
