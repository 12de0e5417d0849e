# One `edgeadm init phase` on master 0.
# In: PHASE (its name, for messages), ARGS (edgeadm's arguments, one a line),
# DONE_IF_FILE (empty, or a file whose presence means the phase is done), CHECK_KUBELET
# (1: the kubelet must run afterwards; kubeadm only warns when it does not).
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
  run edgeadm "$@"
  if [ "$CHECK_KUBELET" = 1 ]; then kubelet_running; fi
  say "phase ${PHASE%% *} done"
fi
