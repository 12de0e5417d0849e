# In: ADMIN_CONF, NODE_NAME, NODE_STATE_DIR.
run kubectl --kubeconfig "$ADMIN_CONF" delete node "$NODE_NAME" --ignore-not-found
rm -rf "${NODE_STATE_DIR:?}/$NODE_NAME"
say "node $NODE_NAME is not in the cluster"
