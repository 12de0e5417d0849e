# In: ADMIN_CONF, RETIRED_TOKENS_FILE, TOKEN_CONFIG (an InitConfiguration whose
# bootstrapTokens hold the token as TOKEN_PLACEHOLDER), RBAC (what bootstrappers may read).
# Token: see token.sh.
ID=${TOKEN%%.*}
if edgeadm token list 2>/dev/null | grep -q "^$ID\."; then say "bootstrap token $ID is valid"
else
  # The token reaches edgeadm in a 0600 file (kubeadm's --config), never on its command line.
  cfg=$(umask 077; mktemp /tmp/edge-token.XXXXXX)
  remove_at_exit "$cfg"
  printf '%s\n' "$TOKEN_CONFIG" | fill_token > "$cfg"
  rc=0; (run edgeadm token create --config "$cfg") || rc=$?
  rm -f "$cfg"; [ "$rc" = 0 ] || exit "$rc"
fi
# Tokens rotated out of the identity (token_rotation) no longer join.
retired=$(tr -s '[:space:]' '\n' < "$RETIRED_TOKENS_FILE")
split_lines
for old in $retired; do
  if [ "$old" != "$ID" ] && edgeadm token list 2>/dev/null | grep -q "^$old\."; then
    run edgeadm token delete "$old"; say "deleted rotated-out bootstrap token $old"; fi
done
end_split
f=$(mktemp /tmp/edge-apply.XXXXXX)
remove_at_exit "$f"
printf '%s\n' "$RBAC" > "$f"
run kubectl --kubeconfig "$ADMIN_CONF" apply -f "$f"
rm -f "$f"
