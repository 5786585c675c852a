"""The floor of any troposphere generator of this stack (``make bench``, via bench_compare.py).

Starts Python and imports what rendering these templates needs whatever the code around it:
troposphere with the resource modules the stack uses, awacs, PyYAML (the environment files) and
json; with ``--with-pydantic``, pydantic's ``BaseModel`` too (what the environment model, its
schema and the reference docs are built on; ``import pydantic`` alone defers it). Renders
nothing, so a generator's time above this is its own code and its work.
"""

import json  # noqa: F401
import sys

import awacs.aws
import awacs.sts  # noqa: F401
import troposphere  # noqa: F401
import yaml  # noqa: F401
from troposphere import (  # noqa: F401
    awslambda,
    cloudwatch,
    iam,
    kms,
    logs,
    s3,
    secretsmanager,
    sns,
    sqs,
)

if "--with-pydantic" in sys.argv:
    from pydantic import BaseModel  # noqa: F401
