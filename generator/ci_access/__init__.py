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

The split keeps the credentials a runner holds small: they can change the stack's resources only
through a change set (so the stack policy, the guard and the change-set record apply), never call
``s3:DeleteBucket`` or ``lambda:UpdateFunctionCode`` directly.

Environments with ``deploy.previews: true`` also get the preview roles (``preview_roles.py``,
docs/previews.md).

The modules, each importing only those listed before it:

- ``permissions.py``: the granted, denied and withheld actions, side by side with their reasons;
- ``scope.py``: the ARNs of an environment's resources and the conditions that narrow a grant;
- ``trust.py``: who may assume each role (GitHub's OIDC subjects, CloudFormation);
- ``policies.py``: the policy builders and every role's policy, from the first two;
- ``roles.py``: the template's IAM resources (a GitHub role, CloudFormation's role and policies,
  a boundary, the outputs), each present only in its environment's account;
- ``preview_roles.py``: the preview roles, over the same builders;
- ``template.py``: the template, with every environment's roles.
"""

from generator.ci_access.template import (
    TEMPLATE_FILE,
    build_ci_access_template,
    validate_repository,
)
from generator.ci_access.trust import GITHUB_OIDC_HOST

__all__ = [
    "GITHUB_OIDC_HOST",
    "TEMPLATE_FILE",
    "build_ci_access_template",
    "validate_repository",
]
