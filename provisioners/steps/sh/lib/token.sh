# Reads the uploaded bootstrap token, checks its form ([a-z0-9]{6}.[a-z0-9]{16}, so it is
# safe inside YAML as it is) and masks it in all output. `fill_token` copies stdin to stdout
# with TOKEN_PLACEHOLDER replaced by the token, in the shell itself: the token never shows
# on a command line. In: TOKEN_FILE, TOKEN_PLACEHOLDER. The token file is removed however
# the step ends (`remove_at_exit`): each run uploads it again.
remove_at_exit "$TOKEN_FILE"
TOKEN=$(cat "$TOKEN_FILE")
case $TOKEN in
  [a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9].[a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9][a-z0-9]) ;;
  *) fail "$TOKEN_FILE does not hold a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}" ;;
esac
secret "$TOKEN"
fill_token() {
  while IFS= read -r _line || [ -n "$_line" ]; do
    case $_line in
      *"$TOKEN_PLACEHOLDER"*) printf '%s%s%s\n' "${_line%%"$TOKEN_PLACEHOLDER"*}" "$TOKEN" "${_line#*"$TOKEN_PLACEHOLDER"}" ;;
      *) printf '%s\n' "$_line" ;;
    esac
  done
}
