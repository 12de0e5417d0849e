# In: KEYS, LABELS (`key=value`), one a line. After node_lib.sh.
wait_node
forget_dropped labels label "$KEYS"
split_lines
# shellcheck disable=SC2086 # one argument per line of LABELS
set -- $LABELS
end_split
run kubectl --kubeconfig "$ADMIN_CONF" label node "$NODE_NAME" "$@" --overwrite
