# shellcheck shell=bash
# histogram_quantile METRICS_URL NAME Q: the upper bound, in ms, of the smallest bucket of the
# Prometheus histogram NAME (seconds, all its label sets added up) that holds the share Q (0.5,
# 0.99) of its observations; "-" when it has none.
histogram_quantile() {
    curl -fs "$1" | awk -v name="$2" -v q="$3" '
        index($0, name "_bucket{") == 1 && match($0, /le="[^"]+"/) {
            le = substr($0, RSTART + 4, RLENGTH - 5)
            if (!(le in count)) order[n++] = le
            count[le] += $NF
        }
        index($0, name "_count") == 1 { total += $NF }
        END {
            if (total == 0) { print "-"; exit }
            for (i = 0; i < n; i++) if (count[order[i]] >= q * total) { print order[i] * 1000; exit }
        }'
}

# histogram_p99 METRICS_URL NAME: histogram_quantile at 0.99.
histogram_p99() { histogram_quantile "$1" "$2" 0.99; }

# histogram_share METRICS_URL NAME LE: the percentage of the observations of NAME in the bucket
# le="LE" (seconds, as the metric writes it, e.g. 0.001), all label sets added up; "-" when none.
histogram_share() {
    curl -fs "$1" | awk -v name="$2" -v le="$3" '
        index($0, name "_bucket{") == 1 && index($0, "le=\"" le "\"") > 0 { within += $NF }
        index($0, name "_count") == 1 { total += $NF }
        END { if (total == 0) print "-"; else printf "%.1f\n", 100 * within / total }'
}
