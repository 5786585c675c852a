// Evaluate IAM requests with @cloud-copilot/iam-simulate: a JSON array of cases on stdin, a JSON
// array of verdicts on stdout. pytest builds the cases from the generated templates
// (tests/policy/iam_cases.py); this file only feeds them to the engine.
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))

// A role's trust policy for a GitHub OIDC token (`webIdentity`): the Service Authorization
// Reference data lists no `<provider>:sub` or `:aud` key for sts:AssumeRoleWithWebIdentity, so
// runSimulation would ignore them; runUnsafeSimulation takes the context as given (the trust
// policy itself is still validated, and its errors reported).
function webIdentity(c) {
  const trust = createValidatedPolicy(c.resourcePolicy, validateTrustPolicy, { name: 'trust' })
  if (trust.errors.length > 0) return { id: c.id, result: 'Error', errors: trust.errors }
  const result = runUnsafeSimulation(
    {
      request: {
        principal: c.principal,
        action: c.action,
        resource: { resource: c.resource, accountId: c.resourceAccount },
        contextVariables: c.context ?? {}
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trust
    },
    {}
  )
  return { id: c.id, result, ignoredContextKeys: [] }
}

const verdicts = []
for (const c of cases) {
  if (c.webIdentity) {
    verdicts.push(webIdentity(c))
    continue
  }
  const simulation = {
    request: {
      principal: c.principal,
      action: c.action,
      resource: { resource: c.resource, accountId: c.resourceAccount },
      contextVariables: c.context ?? {}
    },
    identityPolicies: c.identityPolicies,
    permissionBoundaryPolicies: c.boundaries,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: c.resourcePolicy ?? undefined
  }
  const response = await runSimulation(simulation, { simulationMode: 'Strict' })
  if (response.resultType === 'error') {
    verdicts.push({ id: c.id, result: 'Error', errors: response.errors })
  } else if (response.resultType === 'single') {
    verdicts.push({
      id: c.id,
      result: response.overallResult,
      ignoredContextKeys: response.result.ignoredContextKeys ?? []
    })
  } else {
    verdicts.push({ id: c.id, result: response.overallResult, ignoredContextKeys: [] })
  }
}
process.stdout.write(JSON.stringify(verdicts))
