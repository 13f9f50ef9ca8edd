# Sourced by the scripts that fetch Debian packages through a sources list of their own.
# debian_mirror prints the URI of this system's own Debian archive (the first non-security
# entry of its apt sources), so that no mirror's host name is written into the repo.
debian_mirror() {
  local uri="" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && uri="${uri:-$(awk '/^URIs:/ && !/security/ {print $2; exit}' "$f")}"
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
  fi
  [ -n "$uri" ] || { echo "no Debian archive in this system's apt sources" >&2; return 1; }
  echo "$uri"
}
