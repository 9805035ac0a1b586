// The JSON API client shared by the four apps (see docs/ and the API contract).
//
// Same origin only (base ''), JSON in and out, `Authorization: Bearer <token>`
// from the app's own storage key. Errors of the server's envelope
// `{"error": {code, message, field, request_id, ...}}` become an ApiError with
// `status`, `code`, `field`, `requestId`, `retryAfter` and the envelope's other
// fields in `details` (for example `attempts_left`, `retry_after`, `errors`).
// A failure to reach the server is an ApiError with status 0 and code `network`.

export class ApiError extends Error {
  constructor({ status, code, message, field = null, requestId = null, retryAfter = null, details = {} }) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
    this.details = details;
  }
}

// The code used when the answer carried no error envelope.
function codeForStatus(status) {
  switch (status) {
    case 400: return 'invalid_request';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not_found';
    case 409: return 'conflict';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    case 423: return 'pin_locked';
    case 429: return 'rate_limited';
    case 503: return 'unavailable';
    default: return status >= 500 ? 'internal' : 'http_' + status;
  }
}

function storageOf(kind) {
  try {
    return kind === 'local' ? window.localStorage : window.sessionStorage;
  } catch {
    return null; // storage disabled: the session lives in memory only
  }
}

function queryString(query) {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') p.append(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

function parseRetryAfter(res, envelope) {
  if (envelope && Number.isFinite(envelope.retry_after)) return envelope.retry_after;
  const h = res.headers.get('Retry-After');
  if (!h) return null;
  const n = Number(h);
  if (Number.isFinite(n)) return n;
  const when = Date.parse(h);
  return Number.isFinite(when) ? Math.max(0, Math.round((when - Date.now()) / 1000)) : null;
}

/**
 * createApi({ app: 'me', storage: 'local' | 'session' })
 *
 * The token is kept under `wastebank.<app>.token`, the sign-in answer under
 * `wastebank.<app>.session` (JSON). `onUnauthorized(err)` is called when a
 * request made with a token answers 401 (expired, revoked or signed out).
 */
export function createApi({ app, storage = 'session', base = '' } = {}) {
  const tokenKey = `wastebank.${app}.token`;
  const sessionKey = `wastebank.${app}.session`;
  const store = storageOf(storage);
  let memToken = null;
  let memSession = null;
  const listeners = new Set();

  const api = {
    lastRequestId: null,

    get token() {
      return (store && store.getItem(tokenKey)) || memToken;
    },

    get session() {
      if (memSession) return memSession;
      const raw = store && store.getItem(sessionKey);
      if (!raw) return null;
      try {
        memSession = JSON.parse(raw);
      } catch {
        memSession = null;
      }
      return memSession;
    },

    // Keep a sign-in answer ({token, expires_at, role, ...}).
    signedIn(answer) {
      const { token, ...rest } = answer;
      memToken = token;
      memSession = rest;
      if (store) {
        store.setItem(tokenKey, token);
        store.setItem(sessionKey, JSON.stringify(rest));
      }
    },

    // Forget the session here (the server side is POST /v1/auth/logout).
    forget() {
      memToken = null;
      memSession = null;
      // clear both storages: a token must not survive sign-out anywhere
      for (const s of [storageOf('local'), storageOf('session')]) {
        if (s) {
          s.removeItem(tokenKey);
          s.removeItem(sessionKey);
        }
      }
    },

    // True while a token is kept and its expires_at (if known) is ahead.
    isSignedIn() {
      if (!api.token) return false;
      const exp = api.session && Date.parse(api.session.expires_at);
      return !exp || exp > Date.now();
    },

    onUnauthorized(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },

    async request(method, path, { body, query, headers = {}, idempotencyKey, signal, auth = true } = {}) {
      const h = { Accept: 'application/json', ...headers };
      const token = auth ? api.token : null;
      if (token) h.Authorization = 'Bearer ' + token;
      if (idempotencyKey) h['Idempotency-Key'] = idempotencyKey;
      let payload;
      if (body !== undefined) {
        h['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
      let res;
      try {
        res = await fetch(base + path + queryString(query), {
          method,
          headers: h,
          body: payload,
          signal,
          credentials: 'same-origin',
          cache: 'no-store',
        });
      } catch (e) {
        if (e && e.name === 'AbortError') throw e;
        throw new ApiError({ status: 0, code: 'network', message: (e && e.message) || 'network error' });
      }
      const requestId = res.headers.get('X-Request-Id');
      api.lastRequestId = requestId;
      const type = res.headers.get('Content-Type') || '';
      let data = null;
      if (res.status !== 204 && type.includes('json')) {
        try {
          data = await res.json();
        } catch {
          data = null;
        }
      }
      if (!res.ok) {
        const env = (data && typeof data.error === 'object' && data.error) || {};
        const err = new ApiError({
          status: res.status,
          code: env.code || codeForStatus(res.status),
          message: env.message || res.statusText,
          field: env.field || null,
          requestId: env.request_id || requestId,
          retryAfter: parseRetryAfter(res, env),
          details: { ...env, ...(data && data.errors ? { errors: data.errors } : {}) },
        });
        if (res.status === 401 && token) listeners.forEach((fn) => fn(err));
        throw err;
      }
      return data;
    },

    get(path, opts) {
      return api.request('GET', path, opts);
    },
    post(path, body, opts = {}) {
      return api.request('POST', path, { ...opts, body });
    },
    put(path, body, opts = {}) {
      return api.request('PUT', path, { ...opts, body });
    },
    patch(path, body, opts = {}) {
      return api.request('PATCH', path, { ...opts, body });
    },
    del(path, opts) {
      return api.request('DELETE', path, opts);
    },

    // POST /v1/auth/logout, then forget the token whatever the answer.
    async logout() {
      try {
        if (api.token) await api.request('POST', '/v1/auth/logout');
      } catch {
        // signed out here anyway; an expired token is already refused
      } finally {
        api.forget();
      }
    },
  };
  return api;
}

// A UUID for Idempotency-Key (crypto.randomUUID needs a secure context;
// 127.0.0.1 and https are, a plain-http LAN address is not).
export function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
