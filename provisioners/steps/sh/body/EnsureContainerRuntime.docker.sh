# In: INSTALL_DIR, DAEMON_JSON.
d=$INSTALL_DIR
set -- "$d"/container/docker-linux-*.tgz; tgz=$1
if [ "$(cat /usr/bin/.edge_constructs-docker 2>/dev/null)" = "$(sha256sum "$tgz" | cut -d' ' -f1)" ]; then
  say "docker already installed"
else
  tmp=$(mktemp -d); run tar -xzf "$tgz" -C "$tmp"
  run install -m 0755 "$tmp"/docker/* /usr/bin/; rm -rf "$tmp"
  sha256sum "$tgz" | cut -d' ' -f1 > /usr/bin/.edge_constructs-docker
  say "docker installed"
fi
if put /etc/systemd/system/docker.service 0644 < "$d/conf/docker.service"; then run systemctl daemon-reload; fi
mkdir -p /etc/docker
changed=0
if printf '%s\n' "$DAEMON_JSON" | put /etc/docker/daemon.json 0644; then changed=1; fi
run systemctl enable --now docker
if [ "$changed" = 1 ]; then run systemctl restart docker; fi
