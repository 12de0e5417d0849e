# In: KEYS (`key:Effect`), TAINTS, one a line. After node_lib.sh.
wait_node
forget_dropped taints taint "$KEYS"
split_lines
# shellcheck disable=SC2086 # one argument per line of TAINTS
set -- $TAINTS
end_split
run kubectl --kubeconfig "$ADMIN_CONF" taint node "$NODE_NAME" "$@" --overwrite
