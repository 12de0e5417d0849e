# In: SYSCTLS (`key = value`, one a line).
changed=0
if printf '%s\n' "$SYSCTLS" | put /etc/sysctl.d/99-edge_constructs.conf 0644; then changed=1; fi
all_set() {
  printf '%s\n' "$SYSCTLS" | while IFS= read -r kv; do
    [ "$(sysctl -n "${kv%% = *}")" = "${kv#* = }" ] || exit 1
  done
}
if [ "$changed" = 0 ] && all_set; then say "sysctls already set"; else
  run sysctl -p /etc/sysctl.d/99-edge_constructs.conf
fi
