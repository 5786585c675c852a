"""Generate, check and deploy the ServerlessApp CloudFormation stacks."""
