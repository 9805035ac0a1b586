// A category's name in the language shown (its code when it is not known),
// from the categories the station keeps ({code, name, name_zh, unit}).
export function categoryName(categories, code, locale) {
  const x = categories.find((k) => k.code === code);
  if (!x) return code;
  return locale === 'zh-CN' ? x.name_zh || x.name : x.name || x.name_zh;
}
