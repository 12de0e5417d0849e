# In: PORTS (the ports this host's role needs free, one a line).
missing=""
for c in sh tar gzip sha256sum install sed awk; do command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; done
if [ -n "$missing" ]; then echo "missing commands:$missing" >&2; run false; fi
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "net.ipv4.ip_forward is not 1"
if [ ! -f /etc/kubernetes/kubelet.conf ] && command -v ss >/dev/null 2>&1; then
  split_lines
  for p in $PORTS; do
    if ss -Htln "sport = :$p" | grep -q .; then
      fail "port $p is in use by another program"
    fi
  done
  end_split
fi
say "preflight checks passed"
