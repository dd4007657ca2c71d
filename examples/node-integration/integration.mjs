// An integration test of a client of OMOcaptcha in Node (20+: fetch is built in), against an
// `omofake serve` already running. No dependency, no test framework: it prints one line per
// check and exits 1 on the first mismatch.
//
//   omofake serve --port 8765 &
//   OMOFAKE_URL=http://127.0.0.1:8765 node integration.mjs
//
// It steers the fake through its control API (/_omofake/...), and scopes everything it
// configures to its own api token, so other suites sharing the server are not disturbed: it
// never resets the whole server, only what belongs to its token.
//
// Environment: OMOFAKE_URL (required), OMOFAKE_CONTROL_TOKEN (if the server was started with
// --control-token), OMOFAKE_TOKEN (the api token this suite uses; default: node-<pid>).

const BASE = (process.env.OMOFAKE_URL || "").replace(/\/+$/, "").replace(/\/(api|v2)$/, "");
const CONTROL_TOKEN = process.env.OMOFAKE_CONTROL_TOKEN;
const MINE = process.env.OMOFAKE_TOKEN || `node-${process.pid}`;
const OTHER = `${MINE}-other`;
const IMAGE = "aGVsbG8="; // "hello", base64: the fake checks the encoding, not the picture

if (!BASE.startsWith("http://") && !BASE.startsWith("https://")) {
  console.error("integration.mjs: set OMOFAKE_URL to the fake's URL, such as http://127.0.0.1:8765");
  process.exit(2);
}

class Mismatch extends Error {}

function check(condition, what, found) {
  if (!condition) {
    throw new Mismatch(`${what}${found === undefined ? "" : `: found ${JSON.stringify(found)}`}`);
  }
  console.log(`ok - ${what}`);
}

// The control API

async function control(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (CONTROL_TOKEN) headers["X-Omofake-Control-Token"] = CONTROL_TOKEN;
  const answer = await fetch(`${BASE}/_omofake/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const parsed = await answer.json();
  if (!answer.ok) throw new Mismatch(`${method} /_omofake/${path}: HTTP ${answer.status} ${parsed.message}`);
  return parsed;
}

async function waitForHealth(seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await control("GET", "health");
    } catch (error) {
      if (error instanceof Mismatch || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

// The API, as the client under test would call it

async function post(endpoint, body, options = {}) {
  return fetch(`${BASE}/api/${endpoint}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    ...options,
  });
}

async function createJob(token) {
  const answer = await (await post("createJob", { api_token: token, data: { type_job_id: "30", image_base64: IMAGE } })).json();
  check(answer.error === false, `createJob for ${token} is accepted`, answer);
  return answer.job_id;
}

async function solve(token, jobId) {
  // The fake answers at once; a real client would wait 2 s between polls.
  for (let polls = 1; polls <= 20; polls++) {
    const answer = await (await post("getJobResult", { api_token: token, job_id: jobId })).json();
    if (answer.status !== "running") return { ...answer, polls };
  }
  throw new Mismatch(`job ${jobId} still running after 20 polls`);
}

// What each transport fault looks like to a client: how it sees that the answer is no answer.

async function observe(fault, jobId) {
  const started = Date.now();
  let response;
  try {
    response = await post("getJobResult", { api_token: MINE, job_id: jobId });
  } catch (error) {
    return { thrown: String(error.cause?.code || error.cause?.message || error.message) };
  }
  let text;
  try {
    text = await response.text();
  } catch (error) {
    return { status: response.status, bodyThrown: String(error.cause?.code || error.message) };
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return {
    status: response.status,
    type: response.headers.get("content-type") || "",
    retryAfter: response.headers.get("retry-after"),
    text,
    json,
    seconds: (Date.now() - started) / 1000,
  };
}

function describe(seen) {
  if (seen.thrown !== undefined) return `no answer (${seen.thrown})`;
  if (seen.bodyThrown !== undefined) return `HTTP ${seen.status}, the body cut off (${seen.bodyThrown})`;
  const retry = seen.retryAfter ? `, Retry-After ${seen.retryAfter}` : "";
  const body = seen.json !== undefined ? "JSON" : seen.text === "" ? "an empty body" : `${seen.type || "text"} that is not JSON`;
  return `HTTP ${seen.status}${retry}, ${body}`;
}

const EXPECTED = {
  reset: (seen) => seen.thrown !== undefined,
  empty: (seen) => seen.status === 200 && seen.text === "",
  truncated: (seen) => seen.bodyThrown !== undefined || (seen.status === 200 && seen.text !== "" && seen.json === undefined),
  bad_gateway: (seen) => seen.status === 502 && seen.type.startsWith("text/html"),
  unavailable: (seen) => seen.status === 503 && seen.retryAfter === "2",
  rate_limited: (seen) => seen.status === 429 && seen.retryAfter === "2",
  // The real answer, late: it cannot come sooner than hang_seconds.
  hang: (seen) => seen.status === 200 && seen.json?.status === "success" && seen.seconds >= 0.2,
};

async function main() {
  const health = await waitForHealth(10);
  check(health.status === "ok", `the fake answers its health check (omofake ${health.version})`);

  // A failure for this suite's token only.
  await control("POST", "configure", { token: MINE, outcome: "fail" });
  const [mine, theirs] = [await createJob(MINE), await createJob(OTHER)];
  const failed = await solve(MINE, mine);
  check(failed.status === "fail", `a job of ${MINE} fails`, failed);
  const solved = await solve(OTHER, theirs);
  check(solved.status === "success" && solved.result, "a job of another token succeeds", solved);
  console.log(`# the other token's job was done after ${solved.polls} poll(s)`);
  await control("POST", "configure", { token: MINE, outcome: null });

  // Every transport fault, once each, on this token's polls; the next poll is answered again.
  const jobId = await createJob(MINE);
  for (const [fault, expected] of Object.entries(EXPECTED)) {
    await control("POST", "configure", {
      token: MINE,
      result_fault: fault,
      times: 1,
      retry_after: 2,
      hang_seconds: 0.2,
    });
    const seen = await observe(fault, jobId);
    check(expected(seen), `fault ${fault} is seen as such: ${describe(seen)}`, seen);
    const after = await solve(MINE, jobId);
    check(after.status === "success", `after ${fault}, the next poll is answered`, after);
  }
  const still = await solve(OTHER, theirs);
  check(still.status === "success", "the other token saw none of the faults", still);

  // What this suite sent, from the fake's journal, filtered by token on the server.
  const { requests } = await control("GET", `requests?token=${encodeURIComponent(MINE)}`);
  check(requests.every((e) => e.token === MINE), "the journal filtered by token holds only this token's requests");
  const faults = requests.map((e) => e.fault).filter(Boolean);
  check(JSON.stringify(faults) === JSON.stringify(Object.keys(EXPECTED)), "the journal names each fault, in order", faults);
  const { jobs } = await control("GET", `jobs?token=${encodeURIComponent(MINE)}`);
  check(jobs.length === 2 && jobs.every((job) => job.token === MINE), "the fake holds this token's two jobs", jobs.length);

  // Forget this suite's jobs, requests and settings; another token's stay.
  await control("POST", "reset", { token: MINE });
  const left = await control("GET", `requests?token=${encodeURIComponent(MINE)}`);
  check(left.requests.length === 0, "after a reset by token, none of its requests are left", left.requests.length);
  const others = await control("GET", `requests?token=${encodeURIComponent(OTHER)}`);
  check(others.requests.length > 0, "the other token's requests are still there", others.requests.length);
  console.log("# all checks passed");
}

main().catch((error) => {
  console.error(`not ok - ${error instanceof Mismatch ? error.message : error.stack}`);
  process.exit(1);
});
