# In: MODULES (one a line).
if printf '%s\n' "$MODULES" | put /etc/modules-load.d/edge_constructs.conf 0644; then
  say "wrote /etc/modules-load.d/edge_constructs.conf"
fi
mods=$(printf '%s\n' "$MODULES" | tr '\n' ' ')
mods=${mods% }
if command -v modprobe >/dev/null 2>&1; then
  split_lines
  for m in $MODULES; do run modprobe "$m"; done
  end_split
  say "modules loaded: $mods"
else
  say "no modprobe on this host (a container?): modules must come from the kernel it shares"
fi
