# The manifests edgeadm's edge-apps sub-phases read from --manifests-dir, made by
# `edgeadm manifests` and filled with what only a whole `edgeadm init` would give them
# (edgeadm's flags and configuration; a phase runs on defaults). In: DIR, FILES (the files
# that must be there, one a line), SUBST (`KEY value`, one a line: {{.KEY}} becomes value;
# values were checked when the chain was rendered), TUNNEL_TOKEN_FILE (the tunnel token,
# made here once as init's PreRunE does: 32 random [a-z0-9]).
umask 077
if [ ! -s "$TUNNEL_TOKEN_FILE" ]; then
  mkdir -p "$(dirname "$TUNNEL_TOKEN_FILE")"
  tr -dc 'a-z0-9' < /dev/urandom | head -c 32 > "$TUNNEL_TOKEN_FILE"
fi
rm -rf "$DIR"
run edgeadm manifests --manifest-dir "$DIR"
split_lines
for f in $FILES; do
  # `edgeadm manifests` prints its errors and exits 0 (util.OutPutMessage): check its work
  [ -s "$DIR/$f" ] || fail "edgeadm manifests wrote no $DIR/$f"
  # awk reads values from its environment and files, never from its command line
  EDGE_SUBST=$SUBST EDGE_TUNNEL_TOKEN_FILE=$TUNNEL_TOKEN_FILE awk '
    BEGIN { n = split(ENVIRON["EDGE_SUBST"], l, "\n")
            for (i = 1; i <= n; i++) { p = index(l[i], " "); k[i] = "{{." substr(l[i], 1, p - 1) "}}"; v[i] = substr(l[i], p + 1) }
            getline tok < ENVIRON["EDGE_TUNNEL_TOKEN_FILE"]; n++; k[n] = "{{.TunnelCloudEdgeToken}}"; v[n] = tok }
    { for (i = 1; i <= n; i++) { out = ""; rest = $0
        while ((q = index(rest, k[i])) > 0) { out = out substr(rest, 1, q - 1) v[i]; rest = substr(rest, q + length(k[i])) }
        $0 = out rest }
      print }' "$DIR/$f" > "$DIR/$f.edge-tmp" || fail "could not fill $DIR/$f"
  mv -f "$DIR/$f.edge-tmp" "$DIR/$f"
done
end_split
say "SuperEdge manifests in $DIR"
