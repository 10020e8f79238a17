// judgecal as promptfoo's grader: a `javascript` assertion that sends each output to a rubric's
// approved judge through `judgecal serve` (POST /v1/grade) and turns the verdict into promptfoo's
// result. Reference: docs/adapters.md.
//
//   assert:
//     - type: javascript
//       value: file://judgecal_assert.js
//       config:
//         rubric: support-billing        # required
//         judge: sim/consistent          # optional: that model's approval
//         inputs: [input, output]        # optional: the rubric's inputs (default input, output)
//         timeoutMs: 120000              # optional
//         allowProvisional: false        # optional: also grade with a provisional record (too few
//                                        # labels to approve); the reason and metadata say so
//
// Environment: JUDGECAL_URL (default http://127.0.0.1:8765; overrides config.url) and
// JUDGECAL_SERVE_TOKEN (required: the bearer token; never put it in the config file).
//
// Inputs: the rubric input `output` is the provider's output; every other input is the test's
// variable of that name (`input` falls back to the rendered prompt when there is none).
//
// Outcomes: a passing verdict passes (score 1), a failing one fails (score 0) with the judge's
// reasoning. Everything that is not a verdict on the output throws, which promptfoo records as
// an ERROR, not a pass and not a fail: a refusal (409 not_approved: no valid approval), an
// `invalid` or `error` verdict (the judge gave no usable answer), and any other HTTP error.
'use strict';

const DEFAULT_URL = 'http://127.0.0.1:8765';

function settings(context) {
  const config = (context && context.config) || {};
  if (typeof config.rubric !== 'string' || !config.rubric) {
    throw new Error('judgecal assertion: set config.rubric to a rubric name (e.g. support-billing)');
  }
  const token = process.env.JUDGECAL_SERVE_TOKEN;
  if (!token) {
    throw new Error('judgecal assertion: set JUDGECAL_SERVE_TOKEN to the token `judgecal serve` was started with');
  }
  const url = (process.env.JUDGECAL_URL || config.url || DEFAULT_URL).replace(/\/+$/, '');
  const inputs = config.inputs === undefined ? ['input', 'output'] : config.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((n) => typeof n === 'string')) {
    throw new Error('judgecal assertion: config.inputs must be a list of the rubric\'s input names');
  }
  if (config.allowProvisional !== undefined && typeof config.allowProvisional !== 'boolean') {
    throw new Error('judgecal assertion: config.allowProvisional must be true or false');
  }
  return {
    rubric: config.rubric,
    judge: config.judge,
    url,
    token,
    inputs,
    timeoutMs: config.timeoutMs || 120000,
    allowProvisional: config.allowProvisional === true,
  };
}

function rubricInputs(names, output, context) {
  const vars = (context && context.vars) || {};
  const text = (value) => (typeof value === 'string' ? value : JSON.stringify(value));
  const inputs = {};
  for (const name of names) {
    if (name === 'output') {
      inputs[name] = text(output);
    } else if (vars[name] !== undefined) {
      inputs[name] = text(vars[name]);
    } else if (name === 'input' && typeof context.prompt === 'string') {
      inputs[name] = context.prompt;
    } else {
      throw new Error(`judgecal assertion: the rubric input '${name}' has no test variable of that name`);
    }
  }
  return inputs;
}

module.exports = async function judgecalAssert(output, context) {
  const s = settings(context);
  const body = { rubric: s.rubric, inputs: rubricInputs(s.inputs, output, context) };
  if (s.judge) body.judge = s.judge;
  if (s.allowProvisional) body.allow_provisional = true;
  let response;
  try {
    response = await fetch(`${s.url}/v1/grade`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(s.timeoutMs),
    });
  } catch (err) {
    throw new Error(`judgecal: could not reach ${s.url}/v1/grade: ${err.cause ? err.cause.message : err.message}`);
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = answer.error || {};
    const why = e.details && e.details.status ? ` (${e.details.status})` : '';
    const what = response.status === 409 ? 'refused to grade' : `answered HTTP ${response.status}`;
    throw new Error(`judgecal ${what}: ${e.code || 'error'}${why}: ${e.message || JSON.stringify(answer)}`);
  }
  const v = answer.verdict;
  let approval = v.certificate_id ? `approval ${v.certificate_id.slice(0, 12)}` : 'no approval';
  if (answer.approval_tier === 'provisional') approval = `PROVISIONAL ${approval}, not an approval`;
  if (v.status !== 'ok') {
    throw new Error(`judgecal: the judge ${v.model} gave no usable verdict (${v.status}: ${v.error || 'no detail'}); not a score`);
  }
  if (typeof v.passed !== 'boolean') {
    throw new Error(`judgecal: rubric ${v.rubric} has no pass/fail (verdict ${v.label}); use a binary or ordinal rubric`);
  }
  const modes = v.failure_modes.length ? v.failure_modes.join(', ') : 'none';
  return {
    pass: v.passed,
    score: v.passed ? 1 : 0,
    reason: `judgecal ${v.label} by ${v.model} (${approval}); failure modes: ${modes}; ${v.reasoning || ''}`.trim(),
    metadata: { judgecal: { ...v, certificate_id: answer.certificate_id, approval_tier: answer.approval_tier } },
  };
};
