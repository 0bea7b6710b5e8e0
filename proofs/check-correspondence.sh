#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# docs/proofs.md maps each step of a spin model to the source it stands
# for, in tables under a heading that names the model (`NAME.pml`):
#
#   | `model fragment` | `src/file.c` | `source fragment` |
#
# Both fragments must still be there, verbatim (a "\|" in the table is a
# "|"): a model or a source change that drops one fails make prove, so
# that the correspondence a reviewer checks cannot drift silently. The
# model fragment is looked for in mkvm's variant only (the model run
# through the C preprocessor with no variant defined), and the source
# fragment must occur exactly once in its file, so that neither can be
# matched by a line that stands for something else.
# Prints "not ok - ..." per missing fragment, then "N rows, N problems".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
doc=$top/docs/proofs.md
cd "$top"

rows=0 problems=0 model=""
while IFS= read -r line; do
	if [[ $line =~ ^###.*\`([a-z0-9-]+\.pml)\` ]]; then
		model=proofs/spin/${BASH_REMATCH[1]}
		mkvm_variant=$(cpp -P -w "$model" 2>/dev/null || true)
		continue
	fi
	# A table row of three code cells, in a model's section; \x01 holds
	# escaped pipes.
	[ -n "$model" ] && [[ $line == '| `'* ]] || continue
	line=${line//\\|/$'\x01'}
	IFS='|' read -r _ step file code _ <<<"$line"
	step=$(sed 's/^ *`//; s/` *$//' <<<"$step" | tr '\001' '|')
	file=$(sed 's/^ *`//; s/` *$//' <<<"$file")
	code=$(sed 's/^ *`//; s/` *$//' <<<"$code" | tr '\001' '|')
	rows=$((rows + 1))
	if [ ! -f "$model" ]; then
		echo "not ok - docs/proofs.md: $model does not exist (step \`$step\`)"
		problems=$((problems + 1))
		continue
	fi
	grep -qF -- "$step" <<<"$mkvm_variant" || {
		echo "not ok - $model: mkvm's variant no longer has the step \`$step\` that docs/proofs.md maps"
		problems=$((problems + 1))
	}
	if [ ! -f "$file" ]; then
		echo "not ok - docs/proofs.md: $file does not exist (step \`$step\`)"
		problems=$((problems + 1))
	else
		n=$(grep -cF -- "$code" "$file" || true)
		if [ "$n" != 1 ]; then
			echo "not ok - $file: has \`$code\` $n times, not once (the source of $model's step \`$step\`)"
			problems=$((problems + 1))
		fi
	fi
done <"$doc"

echo "$rows rows, $problems problems"
[ "$rows" -gt 0 ] && [ "$problems" -eq 0 ]
