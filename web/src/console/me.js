// Who the console's token is (GET /v1/auth/me), fetched once per sign-in.
import { api } from './api.js';

let pending = null;
let owner = null;

export function loadMe() {
  if (!pending || owner !== api.token) {
    owner = api.token;
    pending = api.get('/v1/auth/me').catch((e) => {
      pending = null;
      throw e;
    });
  }
  return pending;
}

export function forgetMe() {
  pending = null;
  owner = null;
}
