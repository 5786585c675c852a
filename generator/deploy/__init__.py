"""Deploy through CloudFormation change sets: plan, guard, apply, recover.

``pipeline`` runs a command from a typed request (bootstrap, artifact, plan, guard, execute,
reconcile) with the outside world passed in as one ``runtime.Runtime``.

Only this package and the CLI touch AWS. Every function takes its boto3 clients (and, where it
waits, a clock) as arguments, so the same code runs against a real account, a local emulator
reached through an endpoint URL, moto in tests, or botocore's Stubber on recorded responses.
"""
