# In: INSTALL_DIR, PKG_DIR, PKG_PATH, MARKER, REGISTRY_TOML (appended to the package's config.toml).
# As edgeadm's container phase (pkg/edgeadm/steps/runtime.go installContainerd): unpack
# container/containerd-*.tgz into container/ and run its containerd/install; but only when the
# tarball differs from the one installed last (the script uninstalls first, stopping the runtime).
d=$INSTALL_DIR/container
one_match "$d" 'containerd-*.tgz'; tgz=$match
sum=$(sha256sum "$tgz" | cut -d' ' -f1)
rm -rf "$d/containerd"; run tar -xzf "$tgz" -C "$d"
for f in install config.toml; do
  [ -f "$d/containerd/$f" ] || fail "install package $PKG_PATH: $(basename "$tgz") lacks containerd/$f"
done
if [ "$(cat "$MARKER" 2>/dev/null)" = "$sum" ] && [ -x /usr/local/sbin/containerd ] && [ -x /usr/local/sbin/crictl ]; then
  say "containerd already installed"
else
  run "$d/containerd/install"
  mkdir -p "$(dirname "$MARKER")"; echo "$sum" > "$MARKER"
  say "containerd installed by the package's containerd/install"
fi
changed=0
if { cat "$d/containerd/config.toml"; printf '%s\n' "$REGISTRY_TOML"; } | put /etc/containerd/config.toml 0644; then
  say "wrote /etc/containerd/config.toml"; changed=1
fi
run systemctl enable --now containerd
if [ "$changed" = 1 ] || ! systemctl is-active -q containerd; then run systemctl restart containerd; fi
