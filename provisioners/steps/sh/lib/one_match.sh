# one_match DIR GLOB: sets $match to the one file in DIR that GLOB matches. No match or several
# stop the step, naming the glob and the package ($PKG_PATH): an unmatched glob is never taken
# for a file.
one_match() {
  _om_dir=$1; _om_glob=$2
  case $- in *f*) _om_f=1 ;; *) _om_f=0 ;; esac
  set +f
  # shellcheck disable=SC2086 # the glob must expand
  set -- "$_om_dir"/$_om_glob
  [ "$_om_f" = 0 ] || set -f
  if [ "$#" -ne 1 ] || [ ! -e "$1" ]; then
    if [ -e "$1" ]; then fail "install package $PKG_PATH: ${_om_dir#"$PKG_DIR/"}/$_om_glob matches $# files, expected one"
    else fail "install package $PKG_PATH lacks ${_om_dir#"$PKG_DIR/"}/$_om_glob (no file matches)"; fi
  fi
  # shellcheck disable=SC2034 # read by the caller
  match=$1
}
