# In: ETC_DIR. After uninstall.sh.
rm -rf /etc/kubernetes /var/lib/kubelet /var/lib/etcd "$ETC_DIR" /var/lib/edge_constructs /root/.kube
say "the host no longer belongs to the cluster, and holds nothing the chain installed"
