# In: PKI_DIR, STAGED_PKI, FILES (`name mode`, one a line).
names=$(printf '%s\n' "$FILES" | cut -d' ' -f1)
split_lines
for f in $names; do
  if [ -f "$PKI_DIR/$f" ] && ! cmp -s "$STAGED_PKI/$f" "$PKI_DIR/$f"; then
    fail "$PKI_DIR/$f on this host belongs to another cluster (it differs from the cluster identity in Terraform state). Refusing to overwrite the identity of a running cluster: reset this host (edgeadm reset), or use the state of the cluster it belongs to (terraform import of its credentials directory)." 3
  fi
done
end_split
install_pki() {
  mkdir -p "$(dirname "$PKI_DIR/$1")"
  if cmp -s "$STAGED_PKI/$1" "$PKI_DIR/$1"; then :; else
    (umask 077; install -m "$2" "$STAGED_PKI/$1" "$PKI_DIR/$1.edge-tmp") && mv -f "$PKI_DIR/$1.edge-tmp" "$PKI_DIR/$1"
    say "installed $PKI_DIR/$1"; fi
}
printf '%s\n' "$FILES" | while read -r f mode; do install_pki "$f" "$mode"; done
say "cluster CAs and service-account keys in place"
