# In: INSTALL_DIR.
c=0
put /etc/systemd/system/kubelet.service 0644 < "$INSTALL_DIR/conf/kubelet.service" && c=1 || true
put /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644 < "$INSTALL_DIR/conf/10-kubeadm.conf" && c=1 || true
[ "$c" = 0 ] || run systemctl daemon-reload
run systemctl enable kubelet
say "kubelet unit installed"
