# In: STATE_DIR.
rm -rf /etc/kubernetes /var/lib/kubelet /etc/edge_constructs "$STATE_DIR"
say "the host no longer belongs to the cluster, and holds nothing the chain installed"
