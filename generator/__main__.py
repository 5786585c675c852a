"""``python -m generator``."""

import os
import sys

# Pydantic looks for plugins by scanning every installed distribution's entry points the first
# time a model is built (tens of ms in a full virtualenv); the generator uses none. This is
# pydantic's documented switch, read before any model is built; a caller's own value wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from generator.lazy import defer

defer("cfn_flip")  # troposphere's, for Template.to_yaml only (generator/lazy.py)

from generator.cli import main  # noqa: E402 -- after both settings above

sys.exit(main())
