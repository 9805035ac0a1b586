import { createApi } from '../shared/api.js';

// A shared office computer: the sign-in lasts for this browser tab only.
export const api = createApi({ app: 'console', storage: 'session' });
