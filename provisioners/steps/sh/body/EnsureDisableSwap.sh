if [ "$(tail -n +2 /proc/swaps | wc -l)" -gt 0 ]; then run swapoff -a; say "swap turned off"
else say "swap already off"; fi
if grep -Eq '^[^#].*[[:space:]]swap[[:space:]]' /etc/fstab 2>/dev/null; then
  sed -E 's/^([^#].*[[:space:]]swap[[:space:]].*)$/#\1/' /etc/fstab > /etc/fstab.edge-tmp
  cat /etc/fstab.edge-tmp > /etc/fstab && rm -f /etc/fstab.edge-tmp
  say "swap commented out of /etc/fstab"
fi
