// The message parts of the console's later sections, each
// `{ 'zh-CN': {...}, en: {...} }` (merged into ../zh-CN.js and ../en.js).
import catalogue from './catalogue.js';
import chain from './chain.js';
import movements from './movements.js';
import reports from './reports.js';

export default [catalogue, chain, movements, reports];
