# Keeps one marked block of /etc/hosts equal to LINES.
# In: TAG (names the block), LINES (the block's lines).
begin="# BEGIN edge_constructs $TAG"; end="# END edge_constructs $TAG"
want=$(printf '%s\n' "$begin" "$LINES" "$end")
strip_block() { awk -v b="$begin" -v e="$end" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' /etc/hosts; }
have=$(awk -v b="$begin" -v e="$end" '$0 == b { on = 1 } on { print } $0 == e { on = 0 }' /etc/hosts)
if [ "$want" = "$have" ]; then say "/etc/hosts already has the $TAG block"; else
  { strip_block; printf '%s\n' "$want"; } > /etc/hosts.edge-tmp
  cat /etc/hosts.edge-tmp > /etc/hosts && rm -f /etc/hosts.edge-tmp
  say "wrote the $TAG block to /etc/hosts"
fi
