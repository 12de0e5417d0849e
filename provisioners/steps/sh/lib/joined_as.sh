# `joined_as`: prints the name of the Node this host's kubelet registers, or nothing when the
# host is not joined (no /etc/kubernetes/kubelet.conf). The kubelet names its Node after
# --hostname-override, else after the host name, lower-cased either way (kubernetes v1.22
# `pkg/util/node/node.go` GetHostname, called from `cmd/kubelet/app/server.go`). kubeadm writes
# --hostname-override into /var/lib/kubelet/kubeadm-flags.env when --node-name is not the host
# name (`cmd/kubeadm/app/phases/kubelet/flags.go`); the unit puts $KUBELET_EXTRA_ARGS
# (/etc/sysconfig/kubelet) after it, so a flag there wins (pflag keeps the last).
joined_as() {
  [ -f /etc/kubernetes/kubelet.conf ] || return 0
  _ja_name=$(hostname)
  for _ja_f in /var/lib/kubelet/kubeadm-flags.env /etc/sysconfig/kubelet; do
    _ja_o=$(sed -n 's/.*--hostname-override[= ]\([^" ]*\).*/\1/p' "$_ja_f" 2>/dev/null | tail -n 1)
    [ -z "$_ja_o" ] || _ja_name=$_ja_o
  done
  printf '%s\n' "$_ja_name" | tr '[:upper:]' '[:lower:]' | tr -d '[:space:]'
  echo
}
