"""Account access for CI as code: the GitHub OIDC provider and, per environment, five roles and
the permissions boundary of the app stack's roles.

``templates/ci-access.json`` is one template for every account. It is deployed once per account
(stack ``ServerlessAppCiAccess``, any region: IAM is global) by an administrator; each
environment's resources carry a condition on the account id, so an account receives the roles of
exactly the environments that live in it and no others.

Per environment (``docs/security.md`` has the table of what each can and cannot do):

- the *plan role*, assumed by pull-request jobs only: reads the stack, creates, describes and
  deletes change sets; no ``iam:PassRole``, no resource reads, never executes;
- the *plan-main role*, assumed by jobs on the default branch (the deploy workflow's plan job,
  which must not enter the protected environment before its plan exists): uploads the artifact,
  creates and keeps change sets with the CloudFormation role, and reads the resources'
  configuration (``deploy.drift`` is judged when the plan is made); never executes;
- the *drift role*, assumed by jobs on the default branch: reads the stack and its resources'
  configuration and detects drift; read-only;
- the *deploy role*, assumed only by jobs bound to the GitHub environment of the same name:
  executes a kept change set (never creates one), stack settings, ``iam:PassRole`` of the
  CloudFormation role to CloudFormation;
- the *CloudFormation role*, assumed only by CloudFormation: the permissions to create, update and
  delete exactly this stack's resources, by their physical names; the app stack's roles only
  with the environment's permissions boundary (``generator/boundary.py``), which it can neither
  remove nor rewrite.

Granted, denied and withheld actions are listed side by side with their reasons in
``generator/ci_access/permissions.py``; ``template.py`` assembles them into roles and policies.

The split keeps the credentials a runner holds small: they can change the stack's resources only
through a change set (so the stack policy, the guard and the change-set record apply), never call
``s3:DeleteBucket`` or ``lambda:UpdateFunctionCode`` directly.
"""

from generator.ci_access.template import (
    GITHUB_OIDC_HOST,
    TEMPLATE_FILE,
    build_ci_access_template,
    validate_repository,
)

__all__ = [
    "GITHUB_OIDC_HOST",
    "TEMPLATE_FILE",
    "build_ci_access_template",
    "validate_repository",
]
