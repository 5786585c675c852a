#!/usr/bin/env python3
"""CDK application entry point for serverless infrastructure."""

import os
import aws_cdk as cdk
from aws_cdk import Tags
from lib.tap_stack import TapStack, TapStackProps

app = cdk.App()

# Environment configuration
environment_suffix = app.node.try_get_context('environmentSuffix') or 'dev'
STACK_NAME = f"TapStack{environment_suffix}"

# Sanitize tag values for AWS compliance
repository_name = os.getenv('REPOSITORY', 'unknown').replace('/', '-')
commit_author = os.getenv('COMMIT_AUTHOR', 'unknown').replace('"', '')

# Apply global tags
Tags.of(app).add('Environment', environment_suffix)
Tags.of(app).add('Repository', repository_name)
Tags.of(app).add('Author', commit_author)

# Stack configuration
props = TapStackProps(
    environment_suffix=environment_suffix,
    env=cdk.Environment(
        account=os.getenv('CDK_DEFAULT_ACCOUNT'),
        region=os.getenv('CDK_DEFAULT_REGION')
    )
)

# Initialize stack
TapStack(app, STACK_NAME, props=props)

app.synth()
