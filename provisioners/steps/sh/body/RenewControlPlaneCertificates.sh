# A master's renewed kubeadm certificates go into place, and the static pods that read them
# restart one at a time (what kubeadm's docs say to do after `kubeadm certs renew`: move the
# manifest out of the kubelet's static pod directory, let the pod stop, move it back).
# In: K8S_DIR, MANIFESTS_DIR, NEW (the new files, by their path under K8S_DIR, staged by the
# provider), CA (cluster CA file), FILES (lines "path mode"), PODS (lines "pod health-url",
# in the order they restart), TIMEOUT (seconds a pod has to stop, then to answer again).
# The files replaced are kept in $K8S_DIR/renewal-backup/<time>/ (nothing is lost); a pod
# held out of the manifest directory is always put back, even when it does not come back.
backup="$K8S_DIR/renewal-backup/$(date -u +%Y%m%dT%H%M%SZ)"
printf '%s\n' "$FILES" | while read -r f _mode; do
  [ -s "$NEW/$f" ] || fail "the new $f was not staged in $NEW"
done
run mkdir -p -m 0700 "$backup"
printf '%s\n' "$FILES" | while read -r f _mode; do
  if [ -f "$K8S_DIR/$f" ]; then
    run mkdir -p "$(dirname "$backup/$f")"
    run cp -p "$K8S_DIR/$f" "$backup/$f"
  fi
done
say "the files replaced are kept in $backup"

# root's kubectl (EnsureKubeconfig copied admin.conf there): follows the renewed admin.conf
root_conf_follows=""
if [ -f /root/.kube/config ] && cmp -s /root/.kube/config "$K8S_DIR/admin.conf"; then
  root_conf_follows=1
fi
printf '%s\n' "$FILES" | while read -r f mode; do
  put "$K8S_DIR/$f" "$mode" < "$NEW/$f" || true
done
if [ -n "$root_conf_follows" ]; then put /root/.kube/config 0600 < "$K8S_DIR/admin.conf" || true; fi
run rm -rf "$NEW"
say "new certificates and kubeconfigs written"

answers() {  # URL: the component answers its health endpoint with 200
  case $1 in
    */readyz) curl -fsS --max-time 5 --cacert "$CA" "$1" >/dev/null 2>&1 ;;
    https:*) curl -fsSk --max-time 5 "$1" >/dev/null 2>&1 ;;
    *) curl -fsS --max-time 5 "$1" >/dev/null 2>&1 ;;
  esac
}
held="$K8S_DIR/renewal-held"
run mkdir -p -m 0700 "$held"
restart_pod() {  # POD URL
  manifest="$MANIFESTS_DIR/$1.yaml"
  [ -f "$manifest" ] || { say "$1: no static pod manifest here, nothing to restart"; return 0; }
  t0=$(date +%s)
  run mv "$manifest" "$held/$1.yaml"
  i=0
  while answers "$2"; do
    i=$((i + 1))
    if [ "$i" -ge "$TIMEOUT" ]; then
      run mv "$held/$1.yaml" "$manifest"
      fail "$1 still answers $2 $TIMEOUT s after its manifest left $MANIFESTS_DIR (is the kubelet running?)"
    fi
    sleep 1
  done
  run mv "$held/$1.yaml" "$manifest"
  i=0
  until answers "$2"; do
    i=$((i + 1))
    if [ "$i" -ge "$TIMEOUT" ]; then
      say "the kubelet is $(systemctl is-active kubelet 2>&1 || true); its last lines:"
      journalctl -u kubelet -n 30 --no-pager 2>&1 || true
      fail "$1 did not answer $2 within $TIMEOUT s of its restart with the new certificates (the old files are in $backup)"
    fi
    sleep 1
  done
  say "$1 restarted and answers $2 ($(( $(date +%s) - t0 ))s)"
}
printf '%s\n' "$PODS" | while read -r pod url; do restart_pod "$pod" "$url"; done
run rmdir "$held"
# The member and the API server, once more, after every restart.
printf '%s\n' "$PODS" | while read -r pod url; do
  case $pod in etcd|kube-apiserver)
    answers "$url" || fail "$pod stopped answering $url after the restarts" ;;
  esac
done
say "certificates renewed; etcd and the API server are healthy"
