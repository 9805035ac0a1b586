// Region levels, top to bottom (api.md, Regions).
export const LEVELS = ['province', 'city', 'county', 'town', 'village', 'community'];

export function levelsBelow(level) {
  const i = LEVELS.indexOf(level);
  return i < 0 ? LEVELS.slice(1) : LEVELS.slice(i + 1);
}
