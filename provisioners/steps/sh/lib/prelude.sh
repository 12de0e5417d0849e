# Every step starts with this, after `set -eu` and the assignments of STEP, HOST (empty:
# $EDGE_NODE_NAME, else this host's hostname) and STEP_RESULT. `run` executes one command, keeps its output in a log and, when
# it fails, records the command and its exit code in $STEP_RESULT (read by the SSH runner),
# prints one line naming host, step, command and exit code plus the last lines of output,
# and stops the script with that exit code. `say` notes progress in the one voice
# `[host] Step: message` that the runner uses too.
# Output: everything the step prints (progress, each command's output) goes to its log on
# the host, $STEP_LOG (`<step>.log` beside the script); what Terraform shows is one line,
# `[host] Step: done (Ns)` (`report`), or the failure on stderr. EDGE_VERBOSE=1 prints the
# progress and the commands' output too. `put PATH [MODE]` writes stdin to a file
# atomically, with its final mode from the start, and only when the content differs (it
# returns 1 then, so callers write `put F || true`: a failed write therefore stops the
# script itself, like a failed `run`, even from a pipeline's subshell). `secret VALUE` registers a value (a token read from an uploaded file)
# that `run` masks as *** in everything it prints. `install_upload SRC DST MODE` moves a
# staged upload into place with its mode. `split_lines` sets IFS to a newline and turns off
# globbing, so that `set -- $LIST` makes one argument per line of a list variable;
# `end_split` undoes it. `remove_at_exit FILE` has FILE removed however the script ends
# (success, a failed `run`, or a signal: the SSH session gone, SIGTERM, Ctrl-C), with the
# script's own log, which holds unmasked output.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
[ -n "$HOST" ] || HOST=${EDGE_NODE_NAME:-$(hostname)}
_log=$(mktemp /tmp/edge-step.XXXXXX)
_secrets=""
_t0=$(date +%s)
rm -f "$STEP_RESULT"
STEP_LOG=${STEP_RESULT%.failed}.log
(umask 077; : > "$STEP_LOG")
# fd 3: where `report` writes (the terminal); fd 4: where failures go. Quiet: the rest to the log.
# The log may go while the step runs (a reset removes the state directory): writing to it
# never fails the step.
_tee() { tee -a "$STEP_LOG" 2>/dev/null || :; }
if [ -n "${EDGE_VERBOSE:-}" ]; then exec 3>&1 4>&2; _out() { _tee; }
else exec 3>&1 4>&2 >>"$STEP_LOG" 2>&1; _out() { cat; }; fi
say() { echo "[$HOST] $STEP: $*" | _out; }
report() { echo "[$HOST] $STEP: $*" | _tee >&3; }
_err() { _tee >&4; }
secret() { _secrets="$_secrets $1"; }
masked() { if [ -z "$_secrets" ]; then cat; else
  # awk reads the secrets from its environment: they never show on a command line.
  EDGE_SECRETS=$_secrets awk 'BEGIN { n = split(ENVIRON["EDGE_SECRETS"], s, " ") }
    { for (i = 1; i <= n; i++) { out = ""; rest = $0
        while ((p = index(rest, s[i])) > 0) { out = out substr(rest, 1, p - 1) "***"; rest = substr(rest, p + length(s[i])) }
        $0 = out rest }
      print }'; fi; }
# _stop RC COMMAND...: record the failure, report it, stop the script. From a subshell
# (`... | put F`) `exit` alone would end only the subshell: the script stops through its
# TERM trap, with the recorded exit code.
_stop() {
  _rc=$1; shift
  { echo "$_rc"; echo "$*" | masked; } > "$STEP_RESULT"
  { echo "edge_constructs: step $STEP failed on host $HOST: command '$*' exited $_rc" | masked
    echo "edge_constructs: last lines of the step's log ($STEP_LOG):"
    tail -n 20 "$STEP_LOG" 2>/dev/null | sed 's/^/    /'; } | _err
  kill -s TERM "$_main" 2>/dev/null || true
  exit "$_rc"
}
run() {
  rc=0; "$@" >"$_log" 2>&1 3>&- 4>&- || rc=$?
  masked < "$_log" | _out
  if [ "$rc" -ne 0 ]; then _stop "$rc" "$@"; fi
}
fail() { run sh -c 'echo "$1" >&2; exit "$2"' fail "$1" "${2:-1}"; }
put() {
  _dst=$1; _mode=${2:-0644}; _tmp="$_dst.edge-tmp.$$"
  run mkdir -p "$(dirname "$_dst")"
  run sh -c 'umask 077 && : >"$1" && chmod "$2" "$1"' put "$_tmp" "$_mode"
  cat >"$_tmp" 2>"$_log" || { _rc=$?; masked < "$_log" | _out; _stop "$_rc" write "$_dst"; }
  if [ -f "$_dst" ] && cmp -s "$_tmp" "$_dst"; then rm -f "$_tmp"; return 1; fi
  run mv -f "$_tmp" "$_dst"
}
install_upload() {
  mkdir -p "$(dirname "$2")"
  (umask 077; install -m "$3" "$1" "$2.edge-tmp") && mv -f "$2.edge-tmp" "$2" && rm -f "$1"
}
_nl='
'
split_lines() { IFS=$_nl; set -f; }
end_split() { unset IFS; set +f; }
_main=$$
_remove=""
remove_at_exit() { _remove="$_remove$1$_nl"; }
# A command outside `run` that fails (set -e) has no report yet: its end of the log is it.
_unreported() {
  [ "$1" = 0 ] || [ -f "$STEP_RESULT" ] || [ -n "${EDGE_VERBOSE:-}" ] || {
    echo "edge_constructs: step $STEP failed on host $HOST (exit $1); last lines of $STEP_LOG:"
    tail -n 20 "$STEP_LOG" 2>/dev/null | sed 's/^/    /' | masked; } >&4; }
_at_exit() {
  rm -f "$_log"
  IFS=$_nl; set -f
  for _f in $_remove; do rm -f "$_f"; done
  unset IFS; set +f
  _unreported "$1"
}
trap '_at_exit "$?"' EXIT
trap 'exit "$(head -n 1 "$STEP_RESULT" 2>/dev/null || echo 1)"' TERM
# Without a trap, a shell ended by a signal skips its EXIT trap.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
