# shellcheck shell=bash
# lab/common.sh: what every lab script needs, sourced first by lab.sh,
# bench.sh and bench-gre.sh: progress lines, the help text from the
# script's own header, one way to call the CLI.
#   say "step"      == step
#   info "detail"      detail
#   warn "problem"  !! problem (stderr)
#   usage           the header comment of the calling script, as --help

say() { printf '== %s\n' "$*"; }
info() { printf '   %s\n' "$*"; }
warn() { printf '!! %s\n' "$*" >&2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# The CLI (word-split on purpose: L2BPF may be "node path" or "npx l2bpf").
l2() {
	# shellcheck disable=SC2086
	$L2BPF "$@"
}
