// GitHub's own workflow parser (@actions/workflow-parser) and expression evaluator
// (@actions/expressions), the packages behind GitHub's Actions language service, for the workflow
// tests. One process per test worker (tests/workflows/github.py starts it): JSON requests on stdin,
// one per line, each answered by one JSON line on stdout.
//
//   {"op": "parse", "kind": "workflow" | "action", "name", "content", "files": {path: content}}
//     -> {"errors": [...], "tree": <the document>, "jobs": {id: {"type", "if", "needs", "steps"}}}
//     The document as the parser read it: mappings, sequences and literals as JSON, every
//     expression as the text written in the file (`${{ ... }}`). `jobs` is the converted workflow:
//     each job's and each step's condition as GitHub runs it (`success() && (...)` added where it
//     names no status function). `files` serves the local reusable workflows a job calls (`uses: ./...`), so the
//     caller's `with:` is checked against the callee's `workflow_call` inputs.
//   {"op": "evaluate", "items": [{"expression" | "name"+"path", "context", "status"}]}
//     -> {"values": [{"value", "truthy"} | {"error"}]}
//     An expression, or a field of a parsed document (`path`: keys and indexes), evaluated against
//     `context` (github, needs, matrix, inputs, steps, ...). `status` gives success(), failure(),
//     cancelled() and always(): what they return depends on the run, which only the caller knows.
//     A context or function that is not given is an error, never a silent null.
//
// Node 20 cannot import the parser's JSON schema as an ES module, hence the esbuild bundle
// (`make workflow-env`).
import readline from 'node:readline'
import {
  convertWorkflowTemplate,
  isBasicExpression,
  isLiteral,
  isMapping,
  isSequence,
  NoOperationTraceWriter,
  parseWorkflow
} from '@actions/workflow-parser'
import { parseAction } from '@actions/workflow-parser/actions/action-parser'
import { data, Evaluator, Lexer, Parser } from '@actions/expressions'
import { truthy } from '@actions/expressions/result'

const STATUS_FUNCTIONS = ['success', 'failure', 'cancelled', 'always']
const documents = new Map()

// A token as plain JSON; an expression as written (a plain `${{ }}` string keeps its text).
function plain(token) {
  if (token === undefined || token === null) return null
  if (isBasicExpression(token)) return token.source ?? `\${{ ${token.expression} }}`
  if (isLiteral(token)) return token.value ?? null
  if (isSequence(token)) return [...token].map(plain)
  if (isMapping(token)) {
    const result = {}
    for (const pair of token) result[plain(pair.key)] = plain(pair.value)
    return result
  }
  throw new Error(`unexpected token ${token.typeName()}`)
}

function messages(context) {
  return context.errors.getErrors().map((e) => e.message)
}

async function parse(request) {
  const file = { name: request.name, content: request.content }
  const trace = new NoOperationTraceWriter()
  if (request.kind === 'action') {
    const result = parseAction(file, trace)
    documents.set(request.name, result.value)
    return { errors: messages(result.context), tree: plain(result.value), jobs: {} }
  }
  const result = parseWorkflow(file, trace)
  documents.set(request.name, result.value)
  const errors = messages(result.context)
  const jobs = {}
  if (result.value !== undefined) {
    const files = request.files ?? {}
    const provider = {
      async getFileContent(ref) {
        const path = ref.path.replace(/^\.\//, '')
        if (ref.owner !== undefined || !(path in files)) {
          throw new Error(`no such local workflow: ${JSON.stringify(ref)}`)
        }
        return { name: path, content: files[path] }
      }
    }
    const template = await convertWorkflowTemplate(result.context, result.value, provider, {
      fetchReusableWorkflowDepth: 1
    })
    for (const e of template.errors ?? []) {
      if (!errors.includes(e.Message)) errors.push(e.Message)
    }
    for (const job of template.jobs ?? []) {
      jobs[job.id.value] = {
        type: job.type,
        if: job.if?.expression ?? 'success()',
        needs: (job.needs ?? []).map((n) => n.value),
        steps: (job.steps ?? []).map((s) => ({ if: s.if?.expression ?? 'success()' }))
      }
    }
  }
  return { errors, tree: plain(result.value), jobs }
}

function field(name, path) {
  let token = documents.get(name)
  if (token === undefined) throw new Error(`${name} was not parsed`)
  for (const step of path) {
    if (isMapping(token)) {
      const pair = [...token].find((p) => plain(p.key) === step)
      if (pair === undefined) throw new Error(`${name}: no ${JSON.stringify(step)} in ${path}`)
      token = pair.value
    } else if (isSequence(token) && typeof step === 'number') {
      token = token.get(step)
    } else {
      throw new Error(`${name}: cannot follow ${JSON.stringify(step)} in ${path}`)
    }
  }
  return token
}

function evaluateExpression(expression, context, functions) {
  const lexed = new Lexer(expression).lex()
  const infos = [...functions.values()].map(({ name, minArgs, maxArgs }) => ({
    name,
    minArgs,
    maxArgs
  }))
  const tree = new Parser(lexed.tokens, Object.keys(context), infos).parse()
  const dictionary = JSON.parse(JSON.stringify(context), data.reviver)
  return new Evaluator(tree, dictionary, functions).evaluate()
}

// A token's value as the runner computes it: expressions evaluated, mappings and sequences
// element by element, literals as they are.
function evaluateToken(token, context, functions) {
  if (isBasicExpression(token)) return evaluateExpression(token.expression, context, functions)
  if (isLiteral(token)) return JSON.parse(JSON.stringify(token.value ?? null), data.reviver)
  if (isSequence(token)) {
    return new data.Array(...[...token].map((t) => evaluateToken(t, context, functions)))
  }
  if (isMapping(token)) {
    const pairs = [...token].map((p) => ({
      key: plain(p.key),
      value: evaluateToken(p.value, context, functions)
    }))
    return new data.Dictionary(...pairs)
  }
  throw new Error(`unexpected token ${token.typeName()}`)
}

function evaluate(item) {
  const functions = new Map()
  for (const name of STATUS_FUNCTIONS) {
    if (item.status && name in item.status) {
      const value = Boolean(item.status[name])
      functions.set(name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value) })
    }
  }
  try {
    const context = item.context ?? {}
    const result =
      item.expression !== undefined
        ? evaluateExpression(item.expression, context, functions)
        : evaluateToken(field(item.name, item.path), context, functions)
    return { value: JSON.parse(JSON.stringify(result, data.replacer)), truthy: truthy(result) }
  } catch (error) {
    return { error: String(error.message ?? error) }
  }
}

async function answer(request) {
  if (request.op === 'parse') return parse(request)
  if (request.op === 'evaluate') return { values: request.items.map(evaluate) }
  throw new Error(`unknown op ${request.op}`)
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let reply
  try {
    reply = await answer(JSON.parse(line))
  } catch (error) {
    reply = { failed: String(error.stack ?? error) }
  }
  process.stdout.write(JSON.stringify(reply) + '\n')
}
