# Removes what host preparation and the install package put on a host (see
# host.uninstall_script). In: INSTALL_DIR, PKG_DIR.
d=$INSTALL_DIR
_uninstall_bin() { if [ -f "$2/$1" ] && [ -f "$d/bin/$1" ] && cmp -s "$d/bin/$1" "$2/$1"; then
  rm -f "$2/$1"; say "removed $2/$1"; fi; }
_uninstall_listed() { # tgz prefix-to-strip destdir marker
  if [ -f "$4" ] && [ -f "$1" ]; then
    tar -tzf "$1" | while read -r f; do case $f in */) ;; *) rm -f "$3/${f#"$2"}" ;; esac; done
    rm -f "$4"; say "removed the files of $(basename "$1") from $3"; fi; }
_uninstall_unit() { if [ -f "/etc/systemd/system/$1" ]; then
  systemctl disable --now "$1" >/dev/null 2>&1 || true; rm -f "/etc/systemd/system/$1"
  say "removed the $1 unit"; fi; }
for b in kubelet kubectl lite-apiserver conntrack; do _uninstall_bin "$b" /usr/bin; done
_uninstall_bin edgeadm /usr/local/bin
for t in "$d"/cni/*.tgz; do _uninstall_listed "$t" ./ /opt/cni/bin /opt/cni/bin/.edge_constructs; done
for t in "$d"/container/containerd-linux-*.tgz; do
  _uninstall_listed "$t" "" /usr/local /usr/local/bin/.edge_constructs-containerd; done
for t in "$d"/container/docker-linux-*.tgz; do
  _uninstall_listed "$t" docker/ /usr/bin /usr/bin/.edge_constructs-docker; done
for u in kubelet.service containerd.service docker.service; do _uninstall_unit "$u"; done
rm -rf /etc/systemd/system/kubelet.service.d
if grep -qs '^# edge_constructs:' /etc/containerd/config.toml; then
  rm -f /etc/containerd/config.toml; say "removed /etc/containerd/config.toml"; fi
if [ -f /etc/docker/daemon.json ] && [ ! -f /usr/bin/docker ]; then
  rm -f /etc/docker/daemon.json; say "removed /etc/docker/daemon.json"; fi
rmdir /etc/containerd /etc/docker /opt/cni/bin /opt/cni 2>/dev/null || true
for f in /etc/modules-load.d/edge_constructs.conf /etc/sysctl.d/99-edge_constructs.conf; do
  if [ -f "$f" ]; then rm -f "$f"; say "removed $f"; fi; done
systemctl daemon-reload >/dev/null 2>&1 || true
rm -rf "$PKG_DIR"
