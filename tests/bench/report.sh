#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Gather a benchmark run's results into bench.json and draw bench.svg.
#
#   report.sh RESULTS OUTDIR KERNEL ACCEL
#
# RESULTS is the guest's result stream: every "# bench-json: {...}" line a
# benchmark printed is one object of bench.json's "results" (the schema is
# in docs/bench.md). Prints TAP lines (the bench lane's after-boot check,
# which the harness counts): bench.json has results, and every ratio the
# guest printed is in it; the plot is drawn when gnuplot is there.
set -euo pipefail
trap 'echo "not ok - report.sh failed at line $LINENO"' ERR

results=$1 outdir=$2 kernel=$3 accel=$4
here=$(cd "$(dirname "$0")" && pwd)
json=$outdir/bench.json tsv=$outdir/bench-rates.tsv zap=$outdir/bench-notifier.tsv

# Every filter below may find nothing (a run of some tests only).
pick() { grep "$@" || true; }
lines=$(sed -n 's/^ *# bench-json: //p' "$results" | pick '^{')
n=$(printf '%s' "$lines" | pick -c '^{')
commit=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
{
	printf '{"schema":"mkvm-bench/1","kernel":"%s","accel":"%s","commit":"%s","date":"%s",\n"results":[\n' \
		"$kernel" "$accel" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	[ -z "$lines" ] || printf '%s\n' "$lines" | sed '$!s/$/,/'
	printf ']}\n'
} >"$json"

if [ "$n" -gt 0 ]; then
	echo "ok - bench.json: $n results ($json)"
else
	echo "not ok - bench.json: no results in $results"
	exit 0
fi

# Rates, one row per case: name, then median/min/max for 4K and THP.
printf '%s\n' "$lines" | pick '"unit":"pages/s"' | awk '
	{
		name = v("name"); b = v("backing")
		if (!(name in seen)) { seen[name] = 1; order[++n] = name }
		val[name, b] = v("median") " " v("min") " " v("max")
	}
	function v(k,   m) {
		if (match($0, "\"" k "\":\"?[^\",}]*")) {
			m = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
			sub(/^"/, "", m); return m
		}
		return "?"
	}
	END {
		for (i = 1; i <= n; i++) {
			k4 = ((order[i], "4k") in val) ? val[order[i], "4k"] : "? ? ?"
			th = ((order[i], "thp") in val) ? val[order[i], "thp"] : "? ? ?"
			printf "%s %s %s\n", order[i], k4, th
		}
	}' >"$tsv"
printf '%s\n' "$lines" | pick '"unit":"ms"' | awk '{
	match($0, /"name":"[^"]*"/); name = substr($0, RSTART + 8, RLENGTH - 9)
	match($0, /"median":[^,}]*/); med = substr($0, RSTART + 9, RLENGTH - 9)
	match($0, /"min":[^,}]*/); lo = substr($0, RSTART + 6, RLENGTH - 6)
	match($0, /"max":[^,}]*/); hi = substr($0, RSTART + 6, RLENGTH - 6)
	print name, med, lo, hi
}' >"$zap"

ratios=$(sed -n 's/^ *# ratio //p' "$results" | wc -l)
injson=$(printf '%s' "$lines" | pick -c '"kind":"ratio"')
if [ "$ratios" -eq "$injson" ]; then
	echo "ok - bench.json: all $ratios ratios"
else
	echo "not ok - bench.json: $injson ratios, the guest printed $ratios"
fi

if ! command -v gnuplot >/dev/null; then
	echo "ok - bench.svg # SKIP no gnuplot"
	exit 0
fi
plots=0
[ -s "$tsv" ] && plots=$((plots + 1))
[ -s "$zap" ] && plots=$((plots + 1))
{
	echo "set terminal svg size 1000,$((plots * 420)) dynamic font 'sans,11' background '#ffffff'"
	echo "set output '$outdir/bench.svg'"
	echo "set datafile missing '?'"
	echo "set style data histogram"
	echo "set style histogram errorbars gap 1 lw 1"
	echo "set style fill solid 0.7 border -1"
	echo "set grid ytics"
	echo "set key top left"
	echo "set xtics rotate by -25 noenhanced"
	echo "set rmargin 18"
	echo "set multiplot layout $plots,1 title 'mkvm $commit, kernel $kernel, $accel: medians, bars from min to max' noenhanced"
	if [ -s "$tsv" ]; then
		echo "set title 'fault-in of memory, 4K pages per second (log scale)' noenhanced"
		echo "set logscale y"
		echo "plot '$tsv' using 2:3:4:xtic(1) title '4K', '' using 5:6:7 title 'THP'"
		echo "unset logscale y"
	fi
	if [ -s "$zap" ]; then
		echo "set title 'the process''s own munmap / MADV_DONTNEED of populated 4K memory, ms' noenhanced"
		echo "set yrange [0:*]"
		echo "plot '$zap' using 2:3:4:xtic(1) notitle lc rgb '#8060c0'"
	fi
	echo "unset multiplot"
} >"$outdir/bench.gp"
if gnuplot "$outdir/bench.gp" 2>"$outdir/gnuplot.log"; then
	echo "ok - bench.svg ($outdir/bench.svg)"
else
	echo "not ok - bench.svg: gnuplot failed ($outdir/gnuplot.log)"
fi
