"""Prints the Markdown table of bench/run.sh from the files it wrote in WORK_DIR.

Usage: table.py WORK_DIR BINARY
"""

import json
import os
import platform
import statistics
import sys
from importlib import metadata


def timings(path):
    """Returns (median, p95) in milliseconds of a hyperfine JSON export."""
    with open(path) as export:
        times = sorted(json.load(export)["results"][0]["times"])
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return statistics.median(times) * 1e3, p95 * 1e3


def rss(path):
    """Returns (median, max) in MiB of GNU time's %M lines (KiB)."""
    with open(path) as lines:
        kib = [int(line) for line in lines if line.strip().isdigit()]
    return statistics.median(kib) / 1024, max(kib) / 1024


def signing(path):
    """Returns {step: (median, p95)} in milliseconds from the signing benchmark's output."""
    steps = {}
    with open(path) as lines:
        for line in lines:
            parts = line.split()
            if len(parts) >= 5 and parts[-1] == "ms" and parts[-3] == "ms":
                steps[" ".join(parts[:-4])] = (float(parts[-4]), float(parts[-2]))
    return steps


def cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    work, binary = sys.argv[1], sys.argv[2]
    start_up = timings(os.path.join(work, "version.json"))
    hit = timings(os.path.join(work, "hit.json"))
    miss_http = timings(os.path.join(work, "miss-http.json"))
    miss_tls = timings(os.path.join(work, "miss-tls.json"))
    peer = timings(os.path.join(work, "google-auth.json"))
    sign = signing(os.path.join(work, "signing.txt"))
    rss_http = rss(os.path.join(work, "rss-http.txt"))
    rss_tls = rss(os.path.join(work, "rss-tls.txt"))
    rss_python = rss(os.path.join(work, "rss-python.txt"))
    size = os.path.getsize(binary) / (1024 * 1024)

    print(
        f"Machine: {cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
        f"google-auth {metadata.version('google-auth')}, requests {metadata.version('requests')}, "
        f"cryptography {metadata.version('cryptography')}; "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )
    print()
    print("| # | measurement | median | p95 | target |")
    print("|---|---|---|---|---|")
    print(f"| 0 | start-up alone (`--version`), for scale | {start_up[0]:.2f} ms | {start_up[1]:.2f} ms | |")
    print(f"| 1 | cache hit, whole process | {hit[0]:.2f} ms | {hit[1]:.2f} ms | median < 2 ms |")
    print(
        f"| 2 | cache miss, loopback HTTP, whole process | {miss_http[0]:.2f} ms "
        f"| {miss_http[1]:.2f} ms | median < 10 ms |"
    )
    print(f"| 3 | cache miss, loopback TLS (test CA), whole process | {miss_tls[0]:.2f} ms | {miss_tls[1]:.2f} ms | |")
    for step, (median, p95) in sign.items():
        print(f"| 4 | signing alone: {step} | {median:.3f} ms | {p95:.3f} ms | |")
    print(
        f"| 5 | peak RSS, cache miss over HTTP (median / max of 30) | {rss_http[0]:.1f} MiB "
        f"| {rss_http[1]:.1f} MiB | < 10 MB |"
    )
    print(f"| 5 | peak RSS, cache miss over TLS (median / max of 30) | {rss_tls[0]:.1f} MiB | {rss_tls[1]:.1f} MiB | < 10 MB |")
    print(f"| 5 | release binary size | {size:.2f} MiB | | |")
    print(
        f"| 6 | google-auth IDTokenCredentials, loopback HTTP, whole process | {peer[0]:.1f} ms "
        f"| {peer[1]:.1f} ms | |"
    )
    print(f"| 6 | google-auth peak RSS | {rss_python[0]:.1f} MiB | | |")
    print(
        f"| 6 | ratio google-auth / posos-token (cache miss over HTTP, medians) "
        f"| {peer[0] / miss_http[0]:.0f}x | | >= 20x |"
    )


if __name__ == "__main__":
    main()
