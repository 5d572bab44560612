"""`python -m rasa_addons <rasa arguments>`: Rasa's own command line, started without TensorFlow when asked.

With `RASA_WITHOUT_TENSORFLOW=1`, importing this package (before Rasa) has put the TensorFlow stand-in in place
(`without_tensorflow`); for `run`, the model, credentials.yml and endpoints.yml are checked first, so a model that
needs TensorFlow, or a channel or store whose SDK was left out, stops here with a clear message. Without the variable this is exactly `rasa <arguments>`. tools/stack.sh, tools/bench.py, the Rasa
image and the Kubernetes manifests start Rasa this way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rasa_addons import without_tensorflow


def model_argument(argv: list[str]) -> Path:
    """The model `rasa run` would load: `--model`/`-m` (a file, or a folder whose newest archive Rasa takes)."""
    model = "models"
    for i, arg in enumerate(argv):
        if arg in ("--model", "-m") and i + 1 < len(argv):
            model = argv[i + 1]
        elif arg.startswith("--model="):
            model = arg.split("=", 1)[1]
    path = Path(model)
    if path.is_dir():
        archives = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
        if not archives:
            raise SystemExit(f"no trained model in {path}")
        path = archives[-1]
    return path


def option(argv: list[str], name: str, default: str) -> Path:
    """The value of `--name VALUE` or `--name=VALUE` in Rasa's arguments."""
    value = default
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
    return Path(value)


def main(argv: list[str]) -> None:
    if os.environ.get(without_tensorflow.ENV) == "1":
        if not without_tensorflow.installed():
            raise SystemExit(f"{without_tensorflow.ENV}=1 but TensorFlow was imported before rasa_addons")
        if argv[:1] == ["run"]:
            try:
                without_tensorflow.check_model(model_argument(argv[1:]))
                without_tensorflow.check_settings(option(argv, "--credentials", "credentials.yml"),
                                                  option(argv, "--endpoints", "endpoints.yml"))
            except without_tensorflow.TensorFlowNotLoaded as error:
                raise SystemExit(str(error)) from None
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *argv]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
