# SuperEdge's workloads run the wanted images, updated one at a time, each rollout waited for.
# In: ADMIN_CONF, NAMESPACE, WORKLOADS (`kind name image-name image`, one a line, in update
# order: a container running an image named image-name gets image), TIMEOUT (seconds one
# rollout may take). A rollout that does not finish stops the step, naming the workload and
# its pods' state; the workloads after it are left as they were. MANIFESTS_DIR: the first
# deploy's edge-apps manifests, whose images follow once every rollout finished (a later run
# of those phases, create-or-update in edgeadm, must not bring old images back).
k() { kubectl --kubeconfig "$ADMIN_CONF" -n "$NAMESPACE" "$@"; }
work=$(umask 077; mktemp -d /tmp/edge-update.XXXXXX)
remove_at_exit "$work/status"
remove_at_exit "$work/pods"
remove_at_exit "$work/moved"
: > "$work/moved"
# pods_of KIND NAME: the rows of the workload's pods (a DaemonSet's own, a Deployment's
# through its ReplicaSets, named NAME-<pod-template-hash>), with their state.
pods_of() {
  k get pods --no-headers -o 'custom-columns=POD:.metadata.name,OWNER:.metadata.ownerReferences[*].kind,OF:.metadata.ownerReferences[*].name,NODE:.spec.nodeName,PHASE:.status.phase,WAITING:.status.containerStatuses[*].state.waiting.reason,IMAGE:.status.containerStatuses[*].image,MESSAGE:.status.containerStatuses[*].state.waiting.message' > "$work/pods" 2>&1 || { cat "$work/pods"; return 0; }
  EDGE_KIND=$1 EDGE_NAME=$2 awk '
    { kind = ENVIRON["EDGE_KIND"]; name = ENVIRON["EDGE_NAME"]
      mine = (kind == "daemonset" && $2 == "DaemonSet" && $3 == name) ||
             (kind == "deployment" && $2 == "ReplicaSet" && index($3, name "-") == 1 && substr($3, length(name) + 2) !~ /-/)
      if (mine) { line = "  " $1 " " $4 " " $5 " " $6 " " $7
                  for (i = 8; i <= NF; i++) line = line " " $i
                  print line } }' "$work/pods"
}
rows=$(printf '%s\n' "$WORKLOADS")
while read -r kind name image_name image; do
  [ -n "$kind" ] || continue
  cur=$(k get "$kind" "$name" --no-headers \
          -o 'custom-columns=C:.spec.template.spec.containers[*].name,I:.spec.template.spec.containers[*].image' 2>&1) \
    || fail "$kind $NAMESPACE/$name: cannot be read: $cur"
  containers=${cur%% *}
  images=$(printf '%s\n' "${cur#"$containers"}" | sed 's/^ *//')
  set_args=""
  found=""
  i=1
  for c in $(printf '%s\n' "$containers" | tr ',' ' '); do
    img=$(printf '%s\n' "$images" | cut -d, -f"$i")
    i=$((i + 1))
    base=${img##*/}
    base=${base%%@*}
    base=${base%:*}
    [ "$base" = "$image_name" ] || continue
    found=1
    if [ "$img" != "$image" ]; then
      set_args="$set_args $c=$image"
      printf '%s %s\n' "$img" "$image" >> "$work/moved"
      say "$kind/$name: container $c $img -> $image"
    fi
  done
  [ -n "$found" ] || fail "$kind $NAMESPACE/$name: no container runs an image named $image_name (its images: $images)"
  if [ -n "$set_args" ]; then
    # shellcheck disable=SC2086 # one argument per container=image pair (no spaces in either)
    run k set image "$kind/$name" $set_args
  else
    say "$kind/$name already runs $image"
  fi
  if k rollout status "$kind/$name" --timeout="${TIMEOUT}s" > "$work/status" 2>&1; then
    say "$kind/$name: $(tail -n 1 "$work/status")"
  else
    cat "$work/status"
    after=$(printf '%s\n' "$rows" | awk -v seen=0 -v me="$kind $name" '
      seen && NF { printf " %s/%s", $1, $2 } $1 " " $2 == me { seen = 1 }')
    fail "edge component $kind $NAMESPACE/$name did not roll out to $image within ${TIMEOUT}s ($(tail -n 1 "$work/status")); its pods (pod, node, phase, waiting reason, image, message):
$(pods_of "$kind" "$name")
left as they were:${after:- none}"
  fi
done <<EOF
$rows
EOF
if [ -s "$work/moved" ] && [ -d "$MANIFESTS_DIR" ]; then
  for f in "$MANIFESTS_DIR"/*.yaml; do
    [ -f "$f" ] || continue
    # awk reads the images from a file, never from its command line
    EDGE_MOVED="$work/moved" awk '
      BEGIN { while ((getline l < ENVIRON["EDGE_MOVED"]) > 0) { p = index(l, " "); n++; o[n] = substr(l, 1, p - 1); v[n] = substr(l, p + 1) } }
      { for (i = 1; i <= n; i++) { out = ""; rest = $0
          while ((q = index(rest, o[i])) > 0) { out = out substr(rest, 1, q - 1) v[i]; rest = substr(rest, q + length(o[i])) }
          $0 = out rest }
        print }' "$f" > "$f.edge-tmp" || fail "could not update the images in $f"
    mv -f "$f.edge-tmp" "$f"
  done
  say "the manifests in $MANIFESTS_DIR name the new images"
fi
rm -rf "$work"
