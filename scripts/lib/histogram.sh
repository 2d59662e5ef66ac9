# shellcheck shell=bash
# histogram_p99 METRICS_URL NAME: the upper bound, in ms, of the smallest bucket of the Prometheus
# histogram NAME (seconds) that holds 99% of its observations; "-" when it has none.
histogram_p99() {
    curl -fs "$1" | awk -F'[{}" ]+' -v name="$2" '
        $1 == name "_bucket" { le[n] = $3; c[n++] = $NF }
        $1 == name "_count" { total = $NF }
        END {
            if (total == 0) { print "-"; exit }
            for (i = 0; i < n; i++) if (c[i] >= 0.99 * total) { print le[i] * 1000; exit }
        }'
}
