#!/bin/sh
# Write the man pages of skipctl from its --help texts, with help2man:
# skipctl(1), skipctl-COMMAND(1) for each command and
# skipctl-features-SUBCOMMAND(1) for each features subcommand.
#
#   sh scripts/manpages.sh build/skipctl build/man
#
# The --help texts are the single source; the command lists come from
# `skipctl --help` and `skipctl features --help`, so a new command gets its
# page without touching this script.
set -eu

SKIPCTL=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$2
VERSION=$("$SKIPCTL" --version | sed 's/.* //')
mkdir -p "$OUT"
WRAP=$(mktemp -d)
trap 'rm -rf "$WRAP"' EXIT

# The indented "  name  summary" lines after HEADER: in a --help text.
commands() {
    awk -v h="$1" '$0 == h { on = 1; next }
                   on && /^$/ { exit }
                   on && /^  [a-z]/ { print $1 }'
}
summary() {   # the summary may go on over more indented lines
    awk -v h="$1" -v c="$2" '$0 == h { on = 1; next }
                   on && /^$/ { exit }
                   s != "" && /^   +/ { sub(/^ +/, " "); s = s $0; next }
                   s != "" { exit }
                   on && $1 == c { $1 = ""; sub(/^ +/, ""); s = $0 }
                   END { print s }'
}

# help2man runs the program it documents: a wrapper per page, named as the
# page, answers --help from the subcommand (--version-string spares it the
# --version).  help2man takes the SYNOPSIS from a line "Usage:", with the
# capital, and alternative forms from lines "  or: ...": lines that only
# continue a form are joined to it.
page() {    # page NAME SUMMARY ARGS...
    name=$1 desc=$2
    shift 2
    cat > "$WRAP/$name" <<WRAPPER
#!/bin/sh
"$SKIPCTL" $* "\$@" > "$WRAP/out" 2>&1
rc=\$?
awk -f "$WRAP/usage.awk" "$WRAP/out"
exit \$rc
WRAPPER
    chmod +x "$WRAP/$name"
    help2man --no-info --no-discard-stderr --section=1 \
        --source="ngx_skip $VERSION" --manual="ngx_skip" \
        --version-string="$VERSION" --name="$desc" \
        --include="$WRAP/see-also" \
        --output="$OUT/$name.1" "$WRAP/$name"
}

cat > "$WRAP/usage.awk" <<'AWK'
NR == 1 && sub(/^usage:/, "Usage:") { form = $0; inusage = 1; next }
inusage && /^ +skipctl / { print form; sub(/^ +/, "  or: "); form = $0; next }
inusage && /^ +[^ ]/ { sub(/^ +/, " "); form = form $0; next }
inusage { print form; inusage = 0 }
{ print }
END { if (inusage) print form }
AWK
"$SKIPCTL" --help > "$WRAP/help"
"$SKIPCTL" features --help > "$WRAP/features-help"
cmds=$(commands 'Commands:' < "$WRAP/help")
subs=$(commands 'Subcommands:' < "$WRAP/features-help")

{
    printf '[see also]\n.BR skipctl (1)'
    for c in $cmds; do printf ',\n.BR skipctl-%s (1)' "$c"; done
    printf '\n.PP\nThe nginx module'"'"'s directives are described in\n'
    printf '.I /usr/share/doc/libnginx-mod-http-skip/directives.md.gz\n'
    printf 'when libnginx-mod-http-skip is installed.\n'
} > "$WRAP/see-also"

page skipctl "the ngx_skip toolchain: data, models and the Redis feature store" \
    ""
for c in $cmds; do
    page "skipctl-$c" "$(summary 'Commands:' "$c" < "$WRAP/help")" "$c"
done
for s in $subs; do
    page "skipctl-features-$s" \
        "$(summary 'Subcommands:' "$s" < "$WRAP/features-help")" features "$s"
done
