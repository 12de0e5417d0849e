# What kubeadm's hidden wait-control-plane phase does in a whole init (it has no command):
# the API server answers /readyz, within TIMEOUT seconds; else the kubelet's last lines.
# In: URL (https://address:port), CA (the cluster CA file), TIMEOUT.
# Polled every second (kubeadm's own wait polls every 0.5 s); TIMEOUT counts the sleeps.
i=0
until curl -fsS --max-time 5 --cacert "$CA" "$URL/readyz" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$TIMEOUT" ]; then
    say "the kubelet, which runs the API server, is $(systemctl is-active kubelet 2>&1 || true); its last lines:"
    journalctl -u kubelet -n 30 --no-pager 2>&1 || true
    fail "the API server at $URL did not answer /readyz within $TIMEOUT s (the kubelet's last lines are above)"
  fi
  sleep 1
done
say "the API server at $URL is ready"
