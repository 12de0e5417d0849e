# Binaries of the package are installed, each only when it differs.
# In: INSTALL_DIR, BINS (names, one a line), DEST (the directory they go to).
split_lines
for n in $BINS; do
  if cmp -s "$INSTALL_DIR/bin/$n" "$DEST/$n"; then say "$n already installed"
  else run install -m 0755 "$INSTALL_DIR/bin/$n" "$DEST/$n"; say "installed $DEST/$n"; fi
done
end_split
