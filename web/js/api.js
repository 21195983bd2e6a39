// Calls to the server's JSON API (/app/api/…), with the API key kept for
// this tab (sessionStorage) in the Authorization header.

const KEY = 'dhakira.key';

export function key() {
  return sessionStorage.getItem(KEY) || '';
}

export function setKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

/** An error the API answered: its status, message and the field it names. */
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || '';
  }
}

function headers(extra = {}) {
  const out = { ...extra };
  if (key()) out.Authorization = `Bearer ${key()}`;
  return out;
}

/** Listeners told when the server refuses the key (401). */
const refusals = [];
export function onRefused(listener) {
  refusals.push(listener);
}

async function check(response) {
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  let field = '';
  try {
    const body = await response.json();
    message = body.error || message;
    field = body.field || '';
  } catch (_) {
    // not JSON: keep the status line
  }
  if (response.status === 401) refusals.forEach((f) => f(message));
  throw new ApiError(response.status, message, field);
}

/** A JSON call: `method` on `/app/api/${path}` with `body` as JSON. */
export async function call(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await check(await fetch(`/app/api/${path}`, init));
  return response.json();
}

/** A call whose answer is a file: the Blob. */
export async function fetchBlob(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await check(await fetch(`/app/api/${path}`, init));
  return response.blob();
}

/**
 * Uploads `file` to `path` and calls `onEvent` with each JSON line of the
 * answer as it arrives (progress, then the summary or an error).
 */
export async function upload(path, file, onEvent) {
  const response = await check(await fetch(`/app/api/${path}`, { method: 'POST', headers: headers(), body: file }));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) pending += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) onEvent(JSON.parse(line));
    }
    if (done) break;
  }
  if (pending.trim()) onEvent(JSON.parse(pending));
}
