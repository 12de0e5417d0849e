# Removes what host preparation and the install package put on a host (see
# host.uninstall_script). In: INSTALL_DIR, PKG_DIR, MARKERS (runtime markers, one a line),
# KUBELET_FILES (unit, drop-in, sysconfig file, one a line).
d=$INSTALL_DIR
# _uninstall_same SRC DST: remove DST while it holds SRC's bytes (the package's own file).
_uninstall_same() { if [ -f "$2" ] && [ -f "$1" ] && cmp -s "$1" "$2"; then rm -f "$2"; say "removed $2"; fi; }
_uninstall_listed() { # tgz prefix-to-strip destdir marker
  if [ -f "$4" ] && [ -f "$1" ]; then
    tar -tzf "$1" | while read -r f; do case $f in */) ;; *) rm -f "$3/${f#"$2"}" ;; esac; done
    rm -f "$4"; say "removed the files of $(basename "$1") from $3"; fi; }
_uninstall_unit() { # unit-file: stop and remove it (the package's or edgeadm's unit)
  if [ -f "$1" ]; then
    systemctl disable --now "$(basename "$1")" >/dev/null 2>&1 || true; rm -f "$1"; say "removed the unit $1"; fi; }
for b in kubelet kubectl lite-apiserver conntrack; do _uninstall_same "$d/bin/$b" "/usr/bin/$b"; done
_uninstall_same "$d/bin/edgeadm" /usr/local/bin/edgeadm
# a whole `edgeadm join` (edge nodes, other masters) moves every bin/* to /usr/bin (SetPackagePath)
_uninstall_same "$d/bin/edgeadm" /usr/bin/edgeadm
# ... and writes `kubectl completion bash` there: removed while it is what that kubectl prints
if [ -f /etc/bash_completion.d/kubectl ] && [ -x "$d/bin/kubectl" ] && "$d/bin/kubectl" completion bash 2>/dev/null | cmp -s - /etc/bash_completion.d/kubectl; then
  rm -f /etc/bash_completion.d/kubectl; say "removed /etc/bash_completion.d/kubectl"; fi
for t in "$d"/cni/cni-plugins-*.tgz; do _uninstall_listed "$t" ./ /opt/cni/bin /opt/cni/bin/.edge_constructs; done
# The runtimes: what their install scripts put in place (edge-install container/*/install),
# whoever ran them (EnsureContainerRuntime, or edgeadm join's container phase on edge nodes).
_rt=$(mktemp -d)
for t in "$d"/container/containerd-*.tgz; do
  if [ ! -f "$t" ] || ! tar -xzf "$t" -C "$_rt"; then continue; fi
  r=$_rt/containerd
  if [ -f /etc/systemd/system/containerd.service ] && cmp -s "$r/containerd.service" /etc/systemd/system/containerd.service; then
    _uninstall_unit /etc/systemd/system/containerd.service; fi
  for b in containerd containerd-shim containerd-shim-runc-v1 containerd-shim-runc-v2 ctr runc crictl; do
    _uninstall_same "$r/$b" "/usr/local/sbin/$b"; done
  _uninstall_same "$r/crictl.yaml" /etc/crictl.yaml
  _uninstall_same "$r/config.toml" /etc/containerd/config.toml
done
for t in "$d"/container/docker-*.tgz; do
  if [ ! -f "$t" ] || ! tar -xzf "$t" -C "$_rt"; then continue; fi
  r=$_rt/docker
  for u in docker.service containerd.service; do
    if [ -f "/usr/lib/systemd/system/$u" ] && cmp -s "$r/conf/$u" "/usr/lib/systemd/system/$u"; then
      _uninstall_unit "/usr/lib/systemd/system/$u"; fi
  done
  for b in "$r"/bin/*; do _uninstall_same "$b" "/usr/bin/${b##*/}"; done
done
rm -rf "$_rt"
if grep -qs '^# edge_constructs:' /etc/containerd/config.toml; then
  rm -f /etc/containerd/config.toml; say "removed /etc/containerd/config.toml"; fi
if [ -f /etc/docker/daemon.json ] && [ ! -f /usr/bin/dockerd ]; then
  rm -f /etc/docker/daemon.json; say "removed /etc/docker/daemon.json"; fi
split_lines
for m in $MARKERS; do rm -f "$m"; done
# shellcheck disable=SC2086 # one path a line
set -- $KUBELET_FILES
end_split
_uninstall_unit "$1"
rm -f "$2" "$3"; rmdir "$(dirname "$2")" /etc/sysconfig 2>/dev/null || true
rmdir /etc/containerd /etc/docker /opt/cni/bin /opt/cni 2>/dev/null || true
for f in /etc/modules-load.d/edge_constructs.conf /etc/sysctl.d/99-edge_constructs.conf; do
  if [ -f "$f" ]; then rm -f "$f"; say "removed $f"; fi; done
systemctl daemon-reload >/dev/null 2>&1 || true
rm -rf "$PKG_DIR"
