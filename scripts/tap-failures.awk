# Prints each failed assertion of a TAP stream with the path of subtests that
# leads to it and its diagnostic (without the stack and source), so the end of
# a long run says what failed. Usage: awk -f scripts/tap-failures.awk tap.log
function indent(s) { match(s, /^ */); return RLENGTH }
{
  line = $0
  col = indent(line)
  body = substr(line, col + 1)
  if (show > 0) {
    if (body == "") next
    if (col >= showcol) {
      if (skipcol >= 0 && col > skipcol) next
      skipcol = -1
      if (body ~ /^(at|stack|source):/) { skipcol = col; next }
      print "    " substr(line, showcol + 1); show--
      if (body == "...") show = 0
      next
    }
    show = 0
  }
  lvl = int(col / 4)
  if (body ~ /^# Subtest: /) { name[lvl] = substr(body, 12); failed[lvl + 1] = 0; next }
  if (body ~ /^not ok [0-9]+ /) {
    # A subtest that failed because something inside it did: said already.
    if (failed[lvl + 1]) { failed[lvl + 1] = 0; failed[lvl] = 1; next }
    failed[lvl] = 1
    desc = body; sub(/^not ok [0-9]+ - ?/, "", desc)
    path = ""
    for (i = 0; i < lvl; i++) if (name[i] != "") path = path name[i] " > "
    print "not ok: " path desc
    show = 24; showcol = col; skipcol = -1
  }
}
