# What kubeadm's hidden wait-control-plane phase does in a whole init (it has no command):
# the API server answers /readyz, within TIMEOUT seconds; else the kubelet's last lines.
# In: URL (https://address:port), CA (the cluster CA file), TIMEOUT.
i=0
until curl -fsS --max-time 5 --cacert "$CA" "$URL/readyz" >/dev/null 2>&1; do
  i=$((i + 5))
  if [ "$i" -ge "$TIMEOUT" ]; then
    run sh -c 'echo "the API server at $1 did not answer /readyz within $2 s; the kubelet (which runs it) says:"; systemctl is-active kubelet || true; journalctl -u kubelet -n 30 --no-pager; exit 1' ready "$URL" "$TIMEOUT"
  fi
  sleep 5
done
say "the API server at $URL is ready"
