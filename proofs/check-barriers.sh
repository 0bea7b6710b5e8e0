#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every ordering claim in src/ and include/ names the litmus test that
# proves it, and every litmus test proves a claim:
#
#  1. A statement using a barrier or an ordered primitive (smp_*mb*,
#     smp_store_release/smp_load_acquire, the _acquire/_release atomics,
#     rcu_assign_pointer, srcu_dereference*, synchronize_srcu*) has
#     "litmus: NAME" (on one line) in it or in the comment just above it
#     (back to the previous line that ends a statement or a block, ';' or
#     '}').
#  2. So does every comment that says "pairs with" (a *_ONCE pairing).
#  3. Every NAME is proofs/litmus/NAME.litmus.
#  4. Every test that forbids an outcome ("Expect: Never") is named from
#     the source, and has a twin ("Expect: Sometimes") that names it and
#     shows the outcome without the barrier: a proof that can fail.
#
# Prints one TAP-style line per finding ("not ok - ...") and, last,
# "N claims checked, N problems"; exits non-zero on any problem.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
litmus=$top/proofs/litmus
cd "$top"

primitives='(^|[^A-Za-z0-9_])(smp_(mb|rmb|wmb|mb__[a-z_]+|store_release|load_acquire|cond_load_[a-z_]+)|atomic(64|_long)?_[a-z_]+_(acquire|release)|(cmp)?xchg[0-9]*_(acquire|release)|rcu_assign_pointer|srcu_dereference[a-z_]*|synchronize_srcu[a-z_]*)[[:space:]]*\('

# file:line:text of each claim with the litmus names its comment gives:
# "file:line|names|what".
claims=$(find src include -name '*.[ch]' | sort | xargs awk -v prim="$primitives" '
	FNR == 1 { n = 0 }
	{
		line[++n] = $0
		is_comment = ($0 ~ /^[ \t]*(\/\*|\*|\/\/)/)
		what = ""
		if (!is_comment && $0 ~ prim)
			what = "barrier"
		else if (is_comment && tolower($0) ~ /pairs with/)
			what = "pairing comment"
		if (what == "")
			next
		# The statement and the comment above it: back to the line
		# that ends the previous statement or block. A comment reaches
		# to the end of its block.
		text = $0
		for (i = n - 1; i >= 1; i--) {
			if (line[i] ~ /[;}][ \t]*$/ && line[i] !~ /^[ \t]*(\*|\/\*)/)
				break
			text = line[i] " " text
		}
		names = ""
		s = text
		while (match(s, /litmus: [a-z0-9-]+/)) {
			names = names " " substr(s, RSTART + 8, RLENGTH - 8)
			s = substr(s, RSTART + RLENGTH)
		}
		print FILENAME ":" FNR "|" names "|" what
	}')

# Comments continue on the lines after a "pairs with": look there too.
problems=0 count=0
named=" "
while IFS="|" read -r where names what; do
	[ -n "$where" ] || continue
	count=$((count + 1))
	if [ -z "${names// /}" ] && [ "$what" = "pairing comment" ]; then
		file=${where%%:*} ln=${where#*:}
		names=$(sed -n "${ln},\$p" "$file" | sed '/\*\//q' |
			grep -o 'litmus: [a-z0-9-]*' | sed 's/litmus: //' | tr '\n' ' ' || true)
	fi
	if [ -z "${names// /}" ]; then
		echo "not ok - $where: a $what names no litmus test (\"litmus: NAME\")"
		problems=$((problems + 1))
		continue
	fi
	for name in $names; do
		named="$named$name "
		if [ ! -f "$litmus/$name.litmus" ]; then
			echo "not ok - $where: names litmus: $name, but proofs/litmus/$name.litmus does not exist"
			problems=$((problems + 1))
		fi
	done
done <<<"$claims"

# Names given anywhere in the source (comments that do not sit on a claim,
# such as a struct's locking rules, count too).
while read -r name; do
	named="$named$name "
	[ -f "$litmus/$name.litmus" ] || {
		echo "not ok - the source names litmus: $name, but proofs/litmus/$name.litmus does not exist"
		problems=$((problems + 1))
	}
done < <(grep -rhoE 'litmus: [a-z0-9-]+' src include | sed 's/litmus: //' | sort -u)

for f in "$litmus"/*.litmus; do
	name=$(basename "$f" .litmus)
	expect=$(sed -n 's/^ \* Expect: \([A-Za-z]*\)$/\1/p' "$f")
	[ "$expect" = Never ] || continue
	count=$((count + 1))
	case "$named" in
	*" $name "*) ;;
	*)	echo "not ok - proofs/litmus/$name.litmus: no comment in src/ or include/ names it"
		problems=$((problems + 1)) ;;
	esac
	twin=$(grep -l -- "$name\.litmus" "$litmus"/*.litmus | grep -v "/$name\.litmus$" |
		xargs -r grep -l '^ \* Expect: Sometimes$' || true)
	[ -n "$twin" ] || {
		echo "not ok - proofs/litmus/$name.litmus: no twin (Expect: Sometimes) names it"
		problems=$((problems + 1))
	}
done

echo "$count claims checked, $problems problems"
[ "$problems" -eq 0 ]
