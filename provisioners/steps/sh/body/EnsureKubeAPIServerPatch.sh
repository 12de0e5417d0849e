# edgeadm's kube-apiserver patch (constant.KubeAPIServerPatchYaml: spec.dnsPolicy
# ClusterFirstWithHostNet, so the API server resolves through the cluster DNS), which a whole
# `edgeadm init` applies through --patches: a phase run cannot (--patches does not mix with
# --config, and edgeadm ignores InitConfiguration.patches). In: MANIFEST.
[ -f "$MANIFEST" ] || fail "$MANIFEST is missing: the control-plane phase did not write it"
if grep -q '^  dnsPolicy: ClusterFirstWithHostNet$' "$MANIFEST"; then say "dnsPolicy already set in $MANIFEST"
else
  [ "$(grep -c '^spec:$' "$MANIFEST")" = 1 ] || fail "$MANIFEST has no single top-level 'spec:' line to patch"
  sed -e '/^  dnsPolicy:/d' -e 's/^spec:$/spec:\n  dnsPolicy: ClusterFirstWithHostNet/' "$MANIFEST" | put "$MANIFEST" 0600 || true
  say "set dnsPolicy ClusterFirstWithHostNet in $MANIFEST"
fi
