import { createApi } from '../shared/api.js';

export const api = createApi({ app: 'station', storage: 'local' });
