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

# Ordered primitives: barriers, acquire/release, the fully ordered
# value-returning read-modify-writes (cmpxchg, xchg, fetch_*, *_return,
# test_and_*_bit), RCU/SRCU publication and grace periods.
# rcu_dereference_protected() is left out (the lock it names orders it), and
# so is refcount_t, whose ordering is refcount.h's own guarantee.
primitives='(^|[^A-Za-z0-9_])(smp_(mb|rmb|wmb|mb__[a-z_]+|store_release|load_acquire|store_mb|acquire__after_ctrl_dep|cond_load_[a-z_]+)|atomic(64|_long)?_[a-z_]*(acquire|release|return|fetch_[a-z]+|xchg|and_test|add_negative)[a-z_]*|(try_)?(cmp)?xchg(64|128)?(_[a-z]+)?|test_and_(set|clear|change)_bit|rcu_assign_pointer|rcu_dereference(_check|_raw|_bh|_sched)?|srcu_dereference[a-z_]*|synchronize_(s)?rcu[a-z_]*)[[:space:]]*\('

# One line per claim: "file:line|litmus names|what|marked". A comment is
# taken whole, however it is wrapped (its lines joined, the leading "*"s
# dropped), wherever it sits (its own lines, or after code on a line).
claims=$(find src include -name '*.[ch]' | sort | xargs awk -v prim="$primitives" '
	function names(t,	out) {
		gsub(/[ \t]+/, " ", t)
		out = ""
		while (match(t, /litmus: [a-z0-9-]+/)) {
			out = out " " substr(t, RSTART + 8, RLENGTH - 8)
			t = substr(t, RSTART + RLENGTH)
		}
		return out
	}
	function flush_block() {
		if (blk != "" && tolower(blk) ~ /pairs[ \t]+with/)
			print FILENAME ":" bstart "|" names(blk) "|pairing comment|0"
		blk = ""
	}
	FNR == 1 { inblk = 0; pend = ""; blk = "" }
	{
		code = ""; com = ""; s = $0
		while (s != "") {
			if (inblk) {
				i = index(s, "*/")
				piece = i ? substr(s, 1, i - 1) : s
				s = i ? substr(s, i + 2) : ""
				if (i)
					inblk = 0
				sub(/^[ \t]*\*+/, "", piece)
				com = com " " piece
				continue
			}
			i = index(s, "/*"); j = index(s, "//")
			if (j && (!i || j < i)) {
				code = code substr(s, 1, j - 1)
				com = com " " substr(s, j + 2)
				s = ""
			} else if (i) {
				code = code substr(s, 1, i - 1)
				s = substr(s, i + 2)
				inblk = 1
			} else {
				code = code s
				s = ""
			}
		}
		has_com = (com ~ /[^ \t*\/]/)
		has_code = (code ~ /[^ \t]/)
		# A comment after code on a line is a block of its own.
		if (has_code || !has_com)
			flush_block()
		if (has_com) {
			if (blk == "")
				bstart = FNR
			blk = blk " " com
			pend = pend " " com
		}
		if (has_code)
			flush_block()
		if (has_code && code ~ prim)
			print FILENAME ":" FNR "|" names(pend) "|barrier|" (pend ~ /ordering: / ? 1 : 0)
		# The next statement starts after this one ends.
		if (code ~ /[;}][ \t]*$/)
			pend = ""
	}
	END { flush_block() }')

expect_of() { sed -n 's/^ \* Expect: \([A-Za-z]*\)$/\1/p' "$litmus/$1.litmus"; }

problems=0 count=0 marked=0
named=" "
while IFS="|" read -r where names what mark; do
	[ -n "$where" ] || continue
	count=$((count + 1))
	if [ -z "${names// /}" ]; then
		# "ordering: none (why)": a read-modify-write used for its
		# atomicity alone says so, and is counted apart.
		if [ "$what" = barrier ] && [ "$mark" = 1 ]; then
			marked=$((marked + 1))
			continue
		fi
		echo "not ok - $where: a $what names no litmus test (\"litmus: NAME\")"
		problems=$((problems + 1))
		continue
	fi
	never=0
	for name in $names; do
		named="$named$name "
		if [ ! -f "$litmus/$name.litmus" ]; then
			echo "not ok - $where: names litmus: $name, but proofs/litmus/$name.litmus does not exist"
			problems=$((problems + 1))
		elif [ "$(expect_of "$name")" = Never ]; then
			never=1
		fi
	done
	# A twin shows what goes wrong; only a "Never" test proves the claim.
	[ $never = 1 ] || {
		echo "not ok - $where: names no litmus test that forbids the stale outcome (Expect: Never)"
		problems=$((problems + 1))
	}
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
	[ "$(expect_of "$name")" = Never ] || continue
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

echo "$count claims checked ($marked marked atomicity only), $problems problems"
[ "$problems" -eq 0 ]
