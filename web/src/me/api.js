import { createApi } from '../shared/api.js';

// The resident's own phone: the sign-in stays until the token expires or the
// resident signs out.
export const api = createApi({ app: 'me', storage: 'local' });
