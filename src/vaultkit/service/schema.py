"""``python -m vaultkit.service.schema``: print the key service's OpenAPI schema (JSON), the
file committed as docs/keyservice-openapi.json (a test checks the served schema equals it)."""

from __future__ import annotations

import json
import sys

from vaultkit.service.app import openapi

__all__ = ["main"]


def main() -> None:
    json.dump(openapi(), sys.stdout, indent=2, ensure_ascii=False, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
