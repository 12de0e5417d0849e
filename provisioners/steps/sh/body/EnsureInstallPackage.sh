# The install package lies at PKG_PATH, sha256-verified, and is unpacked into INSTALL_DIR, and
# holds every path the chain needs, checked before anything is installed from it.
# In: PKG_DIR, PKG_PATH, SHA256, INSTALL_DIR, URL (empty: the package was uploaded to
# $PKG_PATH.upload), NEEDS (paths under INSTALL_DIR, globs allowed, one a line).
mkdir -p "$PKG_DIR"
have_pkg() { [ -f "$PKG_PATH" ] && echo "$SHA256  $PKG_PATH" | sha256sum -c --status; }
if [ -z "$URL" ]; then
  if [ -f "$PKG_PATH.upload" ]; then mv -f "$PKG_PATH.upload" "$PKG_PATH.part"; fi
elif ! have_pkg; then
  if command -v curl >/dev/null 2>&1; then run curl -fsSL --retry 3 -o "$PKG_PATH.part" "$URL"
  else run wget -q -O "$PKG_PATH.part" "$URL"; fi
fi
if [ -f "$PKG_PATH.part" ]; then
  if echo "$SHA256  $PKG_PATH.part" | sha256sum -c --status; then mv -f "$PKG_PATH.part" "$PKG_PATH"
  else got=$(sha256sum "$PKG_PATH.part" | cut -d' ' -f1); rm -f "$PKG_PATH.part"
    fail "install package sha256 mismatch: expected $SHA256, got $got"; fi
elif have_pkg; then say "package already in place"; fi
have_pkg || fail "install package $PKG_PATH missing or corrupt"
if [ "$(cat "$INSTALL_DIR/.sha256" 2>/dev/null)" = "$SHA256" ]; then say "package already unpacked"
else
  rm -rf "$INSTALL_DIR"; run tar -xzf "$PKG_PATH" -C "$PKG_DIR"
  [ -d "$INSTALL_DIR" ] || fail "install package $PKG_PATH has no edge-install/ directory"
fi
split_lines
for need in $NEEDS; do
  case $need in
    *'*'*) one_match "$INSTALL_DIR/${need%/*}" "${need##*/}" ;;
    *) [ -e "$INSTALL_DIR/$need" ] || fail "install package $PKG_PATH lacks edge-install/$need" ;;
  esac
done
end_split
if [ "$(cat "$INSTALL_DIR/.sha256" 2>/dev/null)" != "$SHA256" ]; then
  echo "$SHA256" > "$INSTALL_DIR/.sha256"; say "unpacked to $INSTALL_DIR"
fi
say "the package holds every path the chain needs"
