if command -v edgeadm >/dev/null 2>&1; then edgeadm reset --force || say "edgeadm reset failed: continuing the cleanup"; fi
for u in kubelet containerd docker lite-apiserver; do systemctl disable --now "$u" >/dev/null 2>&1 || true; done
