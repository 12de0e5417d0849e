# In: INSTALL_DIR.
c=0
if put /etc/systemd/system/kubelet.service 0644 < "$INSTALL_DIR/conf/kubelet.service"; then c=1; fi
if put /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644 < "$INSTALL_DIR/conf/10-kubeadm.conf"; then c=1; fi
[ "$c" = 0 ] || run systemctl daemon-reload
run systemctl enable kubelet
say "kubelet unit installed"
