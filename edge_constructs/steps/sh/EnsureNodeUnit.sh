# In: UNIT, MANIFEST (the NodeUnit), LABEL (`<unit>=nodeunits.superedge.io`). After node_lib.sh.
wait_node
f=$(mktemp /tmp/edge-nodeunit.XXXXXX)
printf '%s\n' "$MANIFEST" > "$f"
# Nodes of one pool apply the same NodeUnit at once: a create may lose the race; retry.
i=0
until kubectl --kubeconfig "$ADMIN_CONF" apply -f "$f"; do
  i=$((i + 1)); [ "$i" -lt 5 ] || run kubectl --kubeconfig "$ADMIN_CONF" apply -f "$f"; sleep 1
done
rm -f "$f"
forget_dropped units label "$UNIT"
run kubectl --kubeconfig "$ADMIN_CONF" label node "$NODE_NAME" "$LABEL" --overwrite
