"""The child process ``content.extraction`` starts to read one PDF's text within limits.

``python -m content.extraction_child LIMITS_JSON PATH`` lowers its own memory (address
space) and CPU-time limits before it reads anything, then prints the ``PdfText`` of the
file as JSON and exits 0; it exits ``EXIT_OUT_OF_MEMORY`` when the memory limit was hit
and ``EXIT_UNREADABLE`` (the reason on the last line of stderr) for a broken file.
"""

from __future__ import annotations

import json
import resource
import sys

EXIT_UNREADABLE = 2
EXIT_OUT_OF_MEMORY = 3


def main(argv: list[str]) -> int:
    limits = json.loads(argv[1])
    _lower(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    _lower(resource.RLIMIT_CPU, int(limits["cpu_seconds"]))
    try:
        from content.text import read_pdf_text  # imported under the limits, like all it uses

        with open(argv[2], "rb") as fh:
            data = fh.read()
        result = read_pdf_text(data, max_pages=limits["max_pages"], max_chars=limits["max_chars"])
        answer = json.dumps(result._asdict())
    except MemoryError:
        return EXIT_OUT_OF_MEMORY
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        print(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    sys.stdout.write(answer)
    return 0


def _lower(limit: int, value: int) -> None:
    _, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(limit, (value, hard))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
