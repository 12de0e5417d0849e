# In: INSTALL_DIR, PKG_DIR, PKG_PATH, MARKER, DAEMON_JSON.
# As edgeadm's container phase (pkg/edgeadm/steps/runtime.go installDocker): unpack
# container/docker-*.tgz into container/ and run its docker/install, only when the tarball
# differs from the one installed last; then our daemon.json replaces the package's.
d=$INSTALL_DIR/container
one_match "$d" 'docker-*.tgz'; tgz=$match
sum=$(sha256sum "$tgz" | cut -d' ' -f1)
rm -rf "$d/docker"; run tar -xzf "$tgz" -C "$d"
[ -f "$d/docker/install" ] || fail "install package $PKG_PATH: $(basename "$tgz") lacks docker/install"
if [ "$(cat "$MARKER" 2>/dev/null)" = "$sum" ] && [ -x /usr/bin/dockerd ]; then say "docker already installed"
else
  run "$d/docker/install"
  mkdir -p "$(dirname "$MARKER")"; echo "$sum" > "$MARKER"
  say "docker installed by the package's docker/install"
fi
changed=0
if printf '%s\n' "$DAEMON_JSON" | put /etc/docker/daemon.json 0644; then changed=1; fi
run systemctl enable --now docker
if [ "$changed" = 1 ] || ! systemctl is-active -q docker; then run systemctl restart docker; fi
