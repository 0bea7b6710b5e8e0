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
# that the correspondence a reviewer checks cannot drift silently.
# Prints "not ok - ..." per missing fragment, then "N rows, N problems".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
doc=$top/docs/proofs.md
cd "$top"

rows=0 problems=0 model=""
while IFS= read -r line; do
	if [[ $line =~ ^###.*\`([a-z0-9-]+\.pml)\` ]]; then
		model=proofs/spin/${BASH_REMATCH[1]}
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
	grep -qF -- "$step" "$model" || {
		echo "not ok - $model: no longer has the step \`$step\` that docs/proofs.md maps"
		problems=$((problems + 1))
	}
	if [ ! -f "$file" ]; then
		echo "not ok - docs/proofs.md: $file does not exist (step \`$step\`)"
		problems=$((problems + 1))
	elif ! grep -qF -- "$code" "$file"; then
		echo "not ok - $file: no longer has \`$code\`, which $model's step \`$step\` stands for"
		problems=$((problems + 1))
	fi
done <"$doc"

echo "$rows rows, $problems problems"
[ "$rows" -gt 0 ] && [ "$problems" -eq 0 ]
