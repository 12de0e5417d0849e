# In: ADMIN_CONF, EDGE_INFO_DIR, MANIFEST (the namespace and the edge-info ConfigMap whose
# data ends the document), FILES (`key path`, one a line: files appended to that data as
# block scalars), NODE_NAME.
umask 077
{
  printf '%s\n' "$MANIFEST"
  printf '%s\n' "$FILES" | while read -r key path; do
    echo "  $key: |"; sed 's/^/    /' "$path"
  done
} > "$EDGE_INFO_DIR/edge-info.yaml"
run kubectl --kubeconfig "$ADMIN_CONF" apply -f "$EDGE_INFO_DIR/edge-info.yaml"
run kubectl --kubeconfig "$ADMIN_CONF" label node "$NODE_NAME" superedge.io/node-cloud=enable --overwrite
