// Requests the JSON client (shared/api.js) does not make: binary answers
// (card PNG, CSV, PDF) and a CSV body. The token goes in the Authorization
// header, never in a URL; a file becomes a blob: URL the page owns.
import { api } from './api.js';
import { ApiError } from '../shared/api.js';

function query(q) {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.append(k, String(v));
  const s = p.toString();
  return s ? '?' + s : '';
}

async function failure(res) {
  let env = {};
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    try {
      data = await res.json();
      env = (data && data.error) || {};
    } catch {
      env = {};
    }
  }
  const err = new ApiError({
    status: res.status,
    code: env.code || (res.status === 404 ? 'not_found' : res.status === 403 ? 'forbidden' : 'http_' + res.status),
    message: env.message || res.statusText,
    field: env.field || null,
    requestId: env.request_id || res.headers.get('X-Request-Id'),
    details: { ...env, ...(data && data.errors ? { errors: data.errors } : {}) },
  });
  if (res.status === 401) {
    api.forget();
    window.location.hash = '#/login?expired=1';
  }
  return err;
}

async function send(method, path, { q, body, headers = {}, accept = '*/*' } = {}) {
  const h = { Accept: accept, ...headers };
  if (api.token) h.Authorization = 'Bearer ' + api.token;
  let res;
  try {
    res = await fetch(path + query(q), { method, headers: h, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError({ status: 0, code: 'network', message: (e && e.message) || 'network error' });
  }
  if (!res.ok) throw await failure(res);
  return res;
}

// GET a file → Blob.
export async function getBlob(path, q, accept) {
  return (await send('GET', path, { q, accept })).blob();
}

// GET a file and hand it to the browser as a download.
export async function download(path, q, filename, accept) {
  const blob = await getBlob(path, q, accept);
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

// POST a CSV body (text or bytes); answers the JSON.
export async function postCsv(path, body, { charset, idempotencyKey } = {}) {
  const headers = { 'Content-Type': charset ? `text/csv; charset=${charset}` : 'text/csv' };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const res = await send('POST', path, { body, headers, accept: 'application/json' });
  return res.json();
}
