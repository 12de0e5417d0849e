# In: SERVICE_FILE/SERVICE, DROPIN_FILE/DROPIN, SYSCONF_FILE/SYSCONF: the kubelet unit, kubeadm's
# drop-in and the sysconfig file, at the paths and with the text edgeadm's SetPackagePath writes.
c=0
if printf '%s' "$SERVICE" | put "$SERVICE_FILE" 0644; then c=1; say "wrote $SERVICE_FILE"; fi
if printf '%s' "$DROPIN" | put "$DROPIN_FILE" 0644; then c=1; say "wrote $DROPIN_FILE"; fi
if printf '%s' "$SYSCONF" | put "$SYSCONF_FILE" 0644; then c=1; say "wrote $SYSCONF_FILE"; fi
[ "$c" = 0 ] || run systemctl daemon-reload
run systemctl enable kubelet
say "kubelet unit installed"
