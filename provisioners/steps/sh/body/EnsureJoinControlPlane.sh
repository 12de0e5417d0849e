# In: ADMIN_CONF, CA_HASH_FILE, ENDPOINT (master 0's address:port), ARGS (edgeadm join's
# other arguments, one a line). Token: see token.sh.
if [ -f /etc/kubernetes/kubelet.conf ] && [ -f "$ADMIN_CONF" ]; then say "already a control-plane member"; else
  CA_HASH=$(cat "$CA_HASH_FILE")
  split_lines
  # shellcheck disable=SC2086 # one argument per line of ARGS
  set -- $ARGS
  end_split
  run edgeadm join "$ENDPOINT" --token "$TOKEN" --discovery-token-ca-cert-hash "$CA_HASH" "$@"
  [ -f /etc/kubernetes/pki/ca.crt ] || fail "/etc/kubernetes/pki/ca.crt is gone after the join (edgeadm's join-prepare removes it)"
fi
