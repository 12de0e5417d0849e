# In: ADMIN_CONF; CM_PATCH, SA_PATCH, DS_PATCH (strategic patches that turn kube-system's
# kube-proxy ConfigMap, ServiceAccount and DaemonSet into their edge-system copies),
# KUBE_PROXY_PATCH (kube-system's kube-proxy keeps off edge nodes), EP_BACKUP_PATCH,
# CLUSTER_INFO_BACKUP_PATCH (the copies kept as edgeadm keeps them), ANNOTATIONS (a JSON
# patch: the annotations of the `kubernetes` Endpoints and EndpointSlice).
# What edgeadm's hidden edge-apps sub-phase update-config does (pkg/edgeadm/common/
# update_config.go), create-or-update: each object is computed whole on this host (kubectl
# patch --local) and applied, so a second run changes nothing.
work=$(umask 077; mktemp -d /tmp/edge-kubeconfig.XXXXXX)
k() { run kubectl --kubeconfig "$ADMIN_CONF" "$@"; }
# copy NS TYPE NAME PATCH: apply what PATCH makes of NS/TYPE/NAME.
copy() {
  k get -n "$1" "$2" "$3" -o json > "$work/src.json"
  if [ "$2" = configmap ] && [ "$3" = kube-proxy ]; then
    # kubeconfig.conf's servers become application-grid-wrapper's (constant
    # ApplicationGridWrapperServiceAddr); the JSON string holds the file on one line.
    sed '/"kubeconfig.conf":/s#\(\\n *server: \)[^\\"]*#\1http://127.0.0.1:51006#g' "$work/src.json" > "$work/edge.json"
    mv -f "$work/edge.json" "$work/src.json"
  fi
  k patch --local -f "$work/src.json" --type strategic -p "$4" -o json > "$work/dst.json"
  k apply -f "$work/dst.json"
}
# once NS TYPE NAME PATCH COPY_NS COPY_NAME: the backup copy is made once, from the object as
# it was before the first change (edgeadm's *-no-edge objects).
once() {
  if [ -z "$(kubectl --kubeconfig "$ADMIN_CONF" get -n "$5" "$2" "$6" --ignore-not-found -o name)" ]; then
    copy "$1" "$2" "$3" "$4"
  else say "$2 $5/$6 kept"; fi
}
copy kube-system configmap kube-proxy "$CM_PATCH"
copy kube-system serviceaccount kube-proxy "$SA_PATCH"
copy kube-system daemonset kube-proxy "$DS_PATCH"
k patch -n kube-system daemonset kube-proxy --type strategic -p "$KUBE_PROXY_PATCH"
once default endpoints kubernetes "$EP_BACKUP_PATCH" default kubernetes-no-edge
k patch -n default endpoints kubernetes --type json -p "$ANNOTATIONS"
k patch -n default endpointslices kubernetes --type json -p "$ANNOTATIONS"
once kube-public configmap cluster-info "$CLUSTER_INFO_BACKUP_PATCH" kube-system cluster-info-no-edge
rm -rf "$work"
