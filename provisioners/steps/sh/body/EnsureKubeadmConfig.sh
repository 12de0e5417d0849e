# In: CONFIG (kubeadm's configuration, the token as TOKEN_PLACEHOLDER), KUBEADM_CONFIG.
if printf '%s\n' "$CONFIG" | fill_token | put "$KUBEADM_CONFIG" 0600; then say "wrote $KUBEADM_CONFIG"
else say "$KUBEADM_CONFIG unchanged"; fi
