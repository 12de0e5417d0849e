# In: ADMIN_CONF.
mkdir -p /root/.kube
put /root/.kube/config 0600 < "$ADMIN_CONF" && say "wrote /root/.kube/config" || say "/root/.kube/config up to date"
run kubectl --kubeconfig "$ADMIN_CONF" get nodes -o name
