# In: INSTALL_DIR, REGISTRY_TOML (appended to the package's config.toml).
d=$INSTALL_DIR
set -- "$d"/container/containerd-linux-*.tgz; tgz=$1
if [ "$(cat /usr/local/bin/.edge_constructs-containerd 2>/dev/null)" = "$(sha256sum "$tgz" | cut -d' ' -f1)" ]; then
  say "containerd already installed"
else
  run tar -xzf "$tgz" -C /usr/local
  sha256sum "$tgz" | cut -d' ' -f1 > /usr/local/bin/.edge_constructs-containerd
  say "containerd installed"
fi
mkdir -p /etc/containerd
changed=0
if { cat "$d/conf/containerd-config.toml"; printf '%s\n' "$REGISTRY_TOML"; } | put /etc/containerd/config.toml 0644; then
  say "wrote /etc/containerd/config.toml"; changed=1
fi
if put /etc/systemd/system/containerd.service 0644 < "$d/conf/containerd.service"; then run systemctl daemon-reload; fi
run systemctl enable --now containerd
if [ "$changed" = 1 ] || ! systemctl is-active -q containerd; then run systemctl restart containerd; fi
