# `edgeadm join` of an edge node: the cluster's join command, plus the node name and
# --skip-phases=init-node. In: CA_HASH_FILE, ENDPOINT, INSTALL_PKG_PATH, NODE_NAME (empty:
# $EDGE_NODE_NAME, which the join script sets). Token: see token.sh. joined_as: joined_as.sh.
[ -n "$NODE_NAME" ] || NODE_NAME=$EDGE_NODE_NAME
if [ -f /etc/kubernetes/kubelet.conf ]; then
  JOINED_AS=$(joined_as)
  # A host joined under another name (a rename): its kubelet keeps registering the old Node;
  # joining again needs the host reset first (the old edge_node's removal does that).
  [ "$JOINED_AS" = "$(printf '%s' "$NODE_NAME" | tr '[:upper:]' '[:lower:]')" ] || fail "this host is joined to the cluster as Node $JOINED_AS, not $NODE_NAME: reset it first (the removal of edge node $JOINED_AS does, or by hand: edgeadm reset --force), then join it as $NODE_NAME"
  say "already joined as $JOINED_AS (/etc/kubernetes/kubelet.conf present)"
else
  CA_HASH=$(cat "$CA_HASH_FILE")
  # edgeadm join refuses --config next to --install-pkg-path (kubeadm's
  # ValidateMixedArguments): the token is on its command line for the join's few seconds.
  run edgeadm join "$ENDPOINT" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH" \
    --install-pkg-path "$INSTALL_PKG_PATH" --enable-edge=true --node-name "$NODE_NAME" --skip-phases=init-node
  say "joined the cluster as $NODE_NAME"
fi
rm -f "$TOKEN_FILE"
