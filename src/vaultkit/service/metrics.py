"""``/metrics``: the key service's counters and latency histograms in the Prometheus text format.

Exposition format 0.0.4 (``text/plain; version=0.0.4``): requests by principal, operation and
status, items by principal and operation, denials (401, 403, 429) by principal and operation,
request latency histograms by operation, and the requests in flight. Labels hold principal and
operation names only, never a value. Kept here (no client library): the service needs counters
and one histogram family, and the format is a few lines.
"""

from __future__ import annotations

import bisect
import threading

__all__ = ["BUCKETS", "Metrics"]

# seconds: loopback single calls take ~0.5 ms, a 10,000-item batch ~50-100 ms
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

_Labels = tuple[tuple[str, str], ...]
_INF = 'le="+Inf"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: _Labels, extra: str = "") -> str:
    parts = [f'{k}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class Metrics:
    """Thread-safe counters and histograms; :meth:`render` gives the exposition text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[_Labels, int] = {}
        self._items: dict[_Labels, int] = {}
        self._denials: dict[_Labels, int] = {}
        self._latency: dict[_Labels, list[float]] = {}  # per bucket, over the last, count, sum
        self.in_flight = 0

    def started(self) -> None:
        with self._lock:
            self.in_flight += 1

    def finished(
        self, *, principal: str, operation: str, status: int, items: int, seconds: float
    ) -> None:
        """One request answered with ``status`` after ``seconds``, carrying ``items`` values."""
        who = (("principal", principal), ("operation", operation))
        with self._lock:
            self.in_flight -= 1
            key = (*who, ("status", str(status)))
            self._requests[key] = self._requests.get(key, 0) + 1
            if items:
                self._items[who] = self._items.get(who, 0) + items
            if status in (401, 403, 429):
                denied = (*who, ("status", str(status)))
                self._denials[denied] = self._denials.get(denied, 0) + 1
            op = (("operation", operation),)
            hist = self._latency.get(op)
            if hist is None:
                hist = self._latency[op] = [0.0] * (len(BUCKETS) + 3)
            hist[bisect.bisect_left(BUCKETS, seconds)] += 1  # the first bucket >= seconds
            hist[-2] += 1
            hist[-1] += seconds

    def render(self) -> str:
        """The metrics in the Prometheus text exposition format."""
        out: list[str] = []
        with self._lock:
            counters = (
                (
                    "vaultkit_requests_total",
                    "Requests by principal, operation and status.",
                    self._requests,
                ),
                (
                    "vaultkit_items_total",
                    "Values processed by principal and operation.",
                    self._items,
                ),
                (
                    "vaultkit_denials_total",
                    "Refused requests (401, 403, 429) by principal and operation.",
                    self._denials,
                ),
            )
            for name, help_text, values in counters:
                out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                out += [f"{name}{_labels(k)} {v}" for k, v in sorted(values.items())]
            name = "vaultkit_request_duration_seconds"
            out += [f"# HELP {name} Request latency by operation.", f"# TYPE {name} histogram"]
            for labels, hist in sorted(self._latency.items()):
                running = 0.0
                for bound, n in zip(BUCKETS, hist, strict=False):
                    running += n
                    le = f'le="{bound}"'
                    out.append(f"{name}_bucket{_labels(labels, le)} {int(running)}")
                out.append(f"{name}_bucket{_labels(labels, _INF)} {int(hist[-2])}")
                out.append(f"{name}_count{_labels(labels)} {int(hist[-2])}")
                out.append(f"{name}_sum{_labels(labels)} {hist[-1]}")
            name = "vaultkit_requests_in_flight"
            out += [f"# HELP {name} Requests being served.", f"# TYPE {name} gauge"]
            out.append(f"{name} {self.in_flight}")
        return "\n".join(out) + "\n"
