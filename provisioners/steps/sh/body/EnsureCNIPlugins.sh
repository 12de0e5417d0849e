# In: INSTALL_DIR, PKG_DIR, PKG_PATH. The plugins archive is edgeadm's CNIPluginsPKG
# (cni/cni-plugins-*.tgz), unpacked into /opt/cni/bin as SetPackagePath does.
one_match "$INSTALL_DIR/cni" 'cni-plugins-*.tgz'; tgz=$match
sum=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$(cat /opt/cni/bin/.edge_constructs 2>/dev/null)" = "$sum" ]; then say "CNI plugins already installed"
else mkdir -p /opt/cni/bin; run tar -xzf "$tgz" -C /opt/cni/bin; echo "$sum" > /opt/cni/bin/.edge_constructs
  say "CNI plugins installed"; fi
