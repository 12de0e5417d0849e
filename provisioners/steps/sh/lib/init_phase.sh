# One `edgeadm init phase` on master 0.
# In: PHASE (its name, for messages), ARGS (edgeadm's arguments, one a line),
# DONE_IF_FILE (empty, or a file whose presence means the phase is done), CHECK_KUBELET
# (1: the kubelet must run afterwards; kubeadm only warns when it does not), AS_NODE (empty,
# or the node name kubeadm must see as this host's name: a phase that takes no --config or
# --node-name names the node after the host name, so it runs in a UTS namespace of its own
# whose host name is the node's).
kubelet_running() {
  for i in 1 2; do
    if ! systemctl is-active -q kubelet; then
      run sh -c 'echo "the kubelet is not running; its last lines:"; journalctl -u kubelet -n 20 --no-pager; exit 1'
    fi
    [ "$i" = 2 ] || sleep 2
  done
}
if [ -n "$DONE_IF_FILE" ] && [ -f "$DONE_IF_FILE" ]; then say "already done: $PHASE"; else
  split_lines
  # shellcheck disable=SC2086 # one argument per line of ARGS
  set -- $ARGS
  end_split
  if [ -n "$AS_NODE" ] && [ "$(hostname | tr '[:upper:]' '[:lower:]')" != "$AS_NODE" ]; then
    # shellcheck disable=SC2016 # the inner shell expands its own arguments
    run unshare --uts sh -c 'hostname "$1" && shift && exec edgeadm "$@"' edgeadm-as "$AS_NODE" "$@"
  else
    run edgeadm "$@"
  fi
  # kubeadm's workflow runner answers a phase that has sub-phases, or a word that names no
  # bound phase (a hidden one), with cobra's help and exit 0: that is no phase run.
  if grep -qx 'Usage:' "$_log"; then
    fail "edgeadm answered 'edgeadm init phase $PHASE' with its help (exit 0): no phase ran. The phase has sub-phases or no command in edgeadm v0.9.0; name a sub-phase that runs."
  fi
  if [ "$CHECK_KUBELET" = 1 ]; then kubelet_running; fi
  say "phase $PHASE done"
fi
