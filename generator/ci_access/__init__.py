"""Account access for CI as code: the GitHub OIDC provider and, per environment, three roles.

``templates/ci-access.json`` is one template for every account. It is deployed once per account
(stack ``ServerlessAppCiAccess``, any region: IAM is global); each environment's roles carry a
condition on the account id, so an account receives the roles of exactly the environments that
live in it and no others.

Per environment:

- the *plan role*, assumed by pull-request jobs (and the scheduled drift job on main): reads the
  stack and its resources' configuration, creates and deletes change sets, never executes one;
- the *deploy role*, assumed only by jobs bound to the GitHub environment of the same name: change
  sets, stack settings and artifacts, ``iam:PassRole`` of the CloudFormation role, and the plan
  role's configuration reads (drift detection reads with the caller's permissions, and a deploy
  refuses a drifted stack), nothing else;
- the *CloudFormation role*, assumed only by CloudFormation: the permissions to create, update and
  delete exactly this stack's resources, by their physical names.

The split keeps the credentials a runner holds small: they can change the stack's resources only
through a change set (so the stack policy, the guard and the change-set record apply), never call
``s3:DeleteBucket`` or ``lambda:UpdateFunctionCode`` directly. ``deploy --role-arn`` passes the
CloudFormation role's ARN as the change sets' ``RoleARN`` (the app stack's and the bootstrap
stack's); CloudFormation then keeps using it for the stack, so ``plan`` needs only ``PassRole``.
"""

from generator.ci_access.template import (
    CI_ENVIRONMENTS,
    GITHUB_OIDC_HOST,
    TEMPLATE_FILE,
    build_ci_access_template,
    validate_repository,
)

__all__ = [
    "CI_ENVIRONMENTS",
    "GITHUB_OIDC_HOST",
    "TEMPLATE_FILE",
    "build_ci_access_template",
    "validate_repository",
]
