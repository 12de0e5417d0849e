# In: CONFIG (kubeadm's configuration, the token as TOKEN_PLACEHOLDER), KUBEADM_CONFIG.
printf '%s\n' "$CONFIG" | fill_token | put "$KUBEADM_CONFIG" 0600 \
  && say "wrote $KUBEADM_CONFIG" || say "$KUBEADM_CONFIG unchanged"
