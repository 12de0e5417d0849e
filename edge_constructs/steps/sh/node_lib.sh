# What master 0 records about one edge node. In: ADMIN_CONF, NODE_STATE_DIR (where master 0
# remembers what it set on each node), NODE_NAME.
# wait_node: the Node exists (the kubelet registered it), and its state directory.
wait_node() {
  i=0
  until kubectl --kubeconfig "$ADMIN_CONF" get node "$NODE_NAME" -o name >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -lt 30 ] || run kubectl --kubeconfig "$ADMIN_CONF" get node "$NODE_NAME"; sleep 2
  done
  mkdir -p "$NODE_STATE_DIR/$NODE_NAME"
}
# forget_dropped KIND VERB WANT: removes from the Node (`kubectl VERB node N key-`) what an
# earlier apply recorded under KIND and WANT (keys, one a line) no longer holds; records WANT.
forget_dropped() {
  _rec="$NODE_STATE_DIR/$NODE_NAME/$1"
  if [ -f "$_rec" ]; then
    while IFS= read -r old; do
      [ -n "$old" ] || continue
      case "$_nl$3$_nl" in *"$_nl$old$_nl"*) ;; *)
        if kubectl --kubeconfig "$ADMIN_CONF" "$2" node "$NODE_NAME" "$old-" >/dev/null; then say "removed $old"; fi ;;
      esac
    done < "$_rec"
  fi
  printf '%s\n' "$3" | put "$_rec" 0644 || true
}
