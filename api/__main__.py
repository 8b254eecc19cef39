"""Entry point of an API replica: `python -m api [uvicorn options]` (the port defaults to PORT).

It keeps the unused heavy libraries out of the process before anything can import LightGBM, warns
when the process started without `api/replica.env`'s tuning, then hands over to uvicorn's own CLI.
"""

from __future__ import annotations

import sys

from api.runtime import block_unused_imports, missing_replica_env, pause_collection, share_the_gil


def main(argv: list[str] | None = None) -> None:
    pause_collection()  # until the lifespan's settle_heap, once the model is loaded
    block_unused_imports()
    share_the_gil()
    import uvicorn

    from api.core.config import get_settings

    args = list(sys.argv[1:] if argv is None else argv)
    if "--port" not in args:
        args += ["--port", str(get_settings().port)]
    missing = missing_replica_env()
    if missing:
        print(
            f"warning: started without {', '.join(missing)} (see api/replica.env): more memory per replica",
            file=sys.stderr,
            flush=True,
        )
    uvicorn.main.main(args=["api.main:app", *args], prog_name="python -m api")


if __name__ == "__main__":
    main()
