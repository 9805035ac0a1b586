// The message parts of the console's later sections, each
// `{ 'zh-CN': {...}, en: {...} }` (merged into ../zh-CN.js and ../en.js).
import catalogue from './catalogue.js';

export default [catalogue];
