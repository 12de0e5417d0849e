# Runs one of the user's hooks.
# In: HOOK_NAME, HOOK_PATH (where the hook is kept), HOOK (its text).
printf '%s\n' "$HOOK" | put "$HOOK_PATH" 0700 || true
say "running hook $HOOK_NAME"
run sh "$HOOK_PATH"
