# In: ADMIN_CONF.
mkdir -p /root/.kube
if put /root/.kube/config 0600 < "$ADMIN_CONF"; then say "wrote /root/.kube/config"
else say "/root/.kube/config up to date"; fi
run kubectl --kubeconfig "$ADMIN_CONF" get nodes -o name
